import { describe, expect, it } from 'vitest';
import {
  BUCKETS,
  dlqEnv,
  FUNCTIONS,
  type FunctionDef,
  type FunctionId,
  QUEUES,
  SCHEDULES,
  SECRETS,
  TABLES,
} from '../../../functions/contract/resources.js';
import { loadHandlers } from '../../../local/handlers.js';
import { functionEnv } from '../../../local/runtime.js';

const IDS = Object.keys(FUNCTIONS) as FunctionId[];

/** A value for every resource variable, as the local stand-ins would provide them. */
function allResourceEnv(): Record<string, string> {
  const env: Record<string, string> = { [SECRETS.jwt.env]: 'file:///nonexistent/jwt.json' };
  for (const t of Object.values(TABLES)) env[t.env] = `serval-${t.id}`;
  for (const b of Object.values(BUCKETS)) env[b.env] = `serval-${b.id}`;
  for (const q of Object.values(QUEUES)) {
    env[q.env] = `http://127.0.0.1:1/queue/${q.id}`;
    env[dlqEnv(q.env)] = `http://127.0.0.1:1/queue/${q.id}-dlq`;
  }
  return env;
}

/** A loader standing in for import(): each module's createHandler returns a tagged function. */
function fakeModules(omit?: string) {
  const created: { entry: string; env: Record<string, string> }[] = [];
  const load = async (entry: string) =>
    entry === omit
      ? {}
      : {
          createHandler: (env: Record<string, string>) => {
            created.push({ entry, env });
            return Object.assign(async () => undefined, { entry });
          },
        };
  return { load, created };
}

describe('the local runtime handler table', () => {
  it('files every function of FUNCTIONS by its kind, each created once with its own environment', async () => {
    const { load, created } = fakeModules();
    const table = await loadHandlers((fn) => ({ fn }), load);
    const tagged = (h: unknown) => (h as { entry: string }).entry;
    const of = (kind: FunctionDef['kind']) => IDS.filter((id) => FUNCTIONS[id].kind === kind);
    expect(Object.keys(table.api).sort()).toEqual(of('api').sort());
    expect(Object.keys(table.queue).sort()).toEqual(of('queue').sort());
    expect(Object.keys(table.schedule).sort()).toEqual(of('schedule').sort());
    expect(tagged(table.authorizer)).toBe(FUNCTIONS.authorizer.entry);
    for (const [id, h] of Object.entries({ ...table.api, ...table.queue, ...table.schedule })) {
      expect(tagged(h)).toBe(FUNCTIONS[id as FunctionId].entry);
    }
    expect(created.map((c) => c.entry).sort()).toEqual(IDS.map((id) => FUNCTIONS[id].entry).sort());
    for (const c of created) {
      const id = IDS.find((i) => FUNCTIONS[i].entry === c.entry);
      expect(c.env).toEqual({ fn: id });
    }
  });

  it('covers every queue worker and schedule target the contract names', async () => {
    const { load } = fakeModules();
    const table = await loadHandlers((fn) => ({ fn }), load);
    for (const q of Object.values(QUEUES)) expect(table.queue[q.worker]).toBeTypeOf('function');
    for (const s of Object.values(SCHEDULES)) expect(table.schedule[s.target]).toBeTypeOf('function');
  });

  it('refuses a function whose module has no createHandler', async () => {
    const { load } = fakeModules(FUNCTIONS.driftWorker.entry);
    await expect(loadHandlers((fn) => ({ fn }), load)).rejects.toThrow(
      `function driftWorker: ${FUNCTIONS.driftWorker.entry} does not export createHandler(env)`,
    );
  });

  it('builds from the real handler modules with the environment each function is bound to', async () => {
    const all = allResourceEnv();
    const table = await loadHandlers((fn) => functionEnv(fn, all));
    const count = Object.keys(table.api).length + Object.keys(table.queue).length;
    expect(count + Object.keys(table.schedule).length + 1).toBe(IDS.length);
  });
});
