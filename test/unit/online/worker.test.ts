/**
 * The online worker's platform side (functions/core/online/worker.ts) over in-memory ports:
 * features from the stored instance (skips counted with their reason), the stored label, each
 * sample once across resent messages, snapshots registered in staging with lineage exactly once,
 * a new learner when production changes, nothing at all while the policy is off.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../functions/core/kernel/audit.js';
import { OnlineLearningPolicy } from '../../../functions/core/monitoring/policy.js';
import type { AppliedSample, CommitResult } from '../../../functions/core/online/service.js';
import type { OnlineState } from '../../../functions/core/online/strategy.js';
import {
  type LabelledCapture,
  OnlineLearning,
  type OnlineResetStore,
} from '../../../functions/core/online/worker.js';
import { logisticRegressionOnnx } from '../../../functions/core/onnx/models.js';
import { readOnnxModel } from '../../../functions/core/onnx/reader.js';
import type { RegisterVersionInput } from '../../../functions/core/registry/registration.js';
import type { ModelVersion } from '../../../functions/core/registry/types.js';
import { createRng } from '../../../functions/core/training/random.js';

class MemoryStore implements OnlineResetStore {
  item: { state: OnlineState; rev: number } | undefined;
  readonly marks = new Map<string, number>();
  readonly audits: AuditEvent[] = [];
  constructor(private readonly known: ReadonlySet<string>) {}
  async load(_model: string) {
    // A copy, as a database read gives: commits never share objects with readers.
    return this.item ? structuredClone(this.item) : undefined;
  }
  async commit(
    _model: string,
    rev: number | null,
    state: OnlineState,
    applied: readonly AppliedSample[],
  ): Promise<CommitResult> {
    const gone = applied.filter((a) => this.marks.has(a.id) || !this.known.has(a.id)).map((a) => a.id);
    if (gone.length > 0) return { ok: false, alreadyApplied: gone };
    if ((this.item?.rev ?? null) !== rev) return { ok: false, conflict: true };
    for (const a of applied) this.marks.set(a.id, a.seq);
    this.item = { state: structuredClone(state), rev: (rev ?? 0) + 1 };
    return { ok: true };
  }
  async remove() {
    this.item = undefined;
  }
  async reset(_model: string, audit: AuditEvent) {
    this.item = undefined;
    this.audits.push(audit);
  }
}

const FEATURES = ['a', 'b', 'c'];
const version = (v: string): ModelVersion =>
  ({
    version: v,
    stage: 'production',
    framework: 'onnx',
    runtime: { type: 'lambda' },
    inputSchema: { features: FEATURES.map((name) => ({ name, type: 'float' as const })) },
    outputSchema: { kind: 'binary', classes: ['no', 'yes'] },
    artifact: { key: `models/m/${v}.onnx` },
  }) as unknown as ModelVersion;

function world(policyOver: Record<string, unknown> = {}) {
  const rng = createRng(5);
  const captures = new Map<string, LabelledCapture>();
  for (let i = 0; i < 400; i++) {
    const x = [rng.normal(), rng.normal(), rng.normal()];
    const id = `p${String(i).padStart(3, '0')}`;
    captures.set(id, {
      predictionId: id,
      model: 'm',
      actual: (x[1] as number) > 0 ? 'yes' : 'no',
      // Every 50th was too large to store; every 40th is named, not positional.
      ...(i % 50 === 7 ? {} : { instance: JSON.stringify(i % 40 === 3 ? { a: x[0], b: x[1], c: x[2] } : x) }),
    });
  }
  captures.set('other', { predictionId: 'other', model: 'n', actual: 'yes', instance: '[1,2,3]' });
  const store = new MemoryStore(new Set(captures.keys()));
  const registered: RegisterVersionInput[] = [];
  const validations: { version: string; report: Record<string, unknown> }[] = [];
  let production = '1.0.0';
  let policy: OnlineLearningPolicy = OnlineLearningPolicy.parse({
    enabled: true,
    strategy: 'incremental',
    learningRate: 0.5,
    snapshot: { everySamples: 100, minHoldoutRows: 10, margin: 0.1 },
    ...policyOver,
  });
  let seq = 0;
  const online = new OnlineLearning({
    store,
    captures: {
      labelled: async (ids) =>
        ids.flatMap((id) => (captures.has(id) ? [captures.get(id) as LabelledCapture] : [])),
    },
    policy: async () => policy,
    registry: {
      getModel: async (name) => (name === 'm' ? { productionVersion: production } : undefined),
      getVersion: async (_name, v) => version(v),
      artifact: async () =>
        logisticRegressionOnnx({
          weights: [3, 0, 0],
          bias: 0,
          featureNames: FEATURES,
          classes: ['no', 'yes'],
        }),
      registerStaging: async (_principal, _name, input) => {
        registered.push(input);
        return { ...version(`1.${registered.length}.0`), stage: 'staging' } as ModelVersion;
      },
      recordValidation: async (_p, _n, v, report) => {
        validations.push({ version: v, report });
      },
    },
    clock: { now: () => new Date('2026-12-01T00:00:00Z') },
    ids: { next: () => `id${seq++}` },
    sleep: async () => {},
  });
  return {
    online,
    store,
    registered,
    validations,
    ids: [...captures.keys()].filter((id) => id !== 'other'),
    setProduction: (v: string) => {
      production = v;
    },
    setPolicy: (over: Record<string, unknown>) => {
      policy = OnlineLearningPolicy.parse({ ...policy, ...over });
    },
  };
}

describe('the online worker', () => {
  it('does nothing while the policy is off', async () => {
    const w = world({ enabled: false });
    expect(await w.online.handle('m', w.ids.slice(0, 10))).toEqual({ model: 'm', status: 'disabled' });
    expect(w.store.item).toBeUndefined();
  });

  it('learns each stored sample once, by its stored instance and label; counts skips with their reason', async () => {
    const w = world();
    const first = await w.online.handle('m', [...w.ids.slice(0, 60), 'other', 'missing']);
    expect(first).toMatchObject({ status: 'learned', applied: 60, alreadyApplied: 0, ignored: 2 });
    // A resent message (a feedback retry) and an overlapping one.
    const again = await w.online.handle('m', w.ids.slice(40, 80));
    expect(again).toMatchObject({ applied: 20, alreadyApplied: 20 });
    const view = (await w.online.describe('m')).learner;
    // p007 and p057 had no stored instance; p003 and p043 were named instances, learned like the others.
    expect(view).toMatchObject({ samplesSeen: 80, skipped: 2, skippedReasons: { 'instance-not-stored': 2 } });
    expect(w.store.marks.size).toBe(80);
  });

  it('registers a snapshot that beats production in staging, once, with lineage and its held-out metrics', async () => {
    const w = world();
    for (let i = 0; i < w.ids.length; i += 50) await w.online.handle('m', w.ids.slice(i, i + 50));
    expect(w.registered.length).toBeGreaterThanOrEqual(1);
    const first = w.registered[0] as RegisterVersionInput;
    expect(first).toMatchObject({ framework: 'onnx', parent: '1.0.0' });
    expect(first.params?.lineage).toMatchObject({ kind: 'online', parent: '1.0.0', strategy: 'incremental' });
    expect(first.metrics?.holdout_accuracy).toBeGreaterThanOrEqual(
      (first.metrics?.production_holdout_accuracy as number) + 0.1,
    );
    // The artifact is the learner's weights as a Serval logistic regression.
    const bytes = Buffer.from((first.artifact as { base64: string }).base64, 'base64');
    expect(readOnnxModel(bytes).metadata['serval.kind']).toBe('logistic-regression');
    expect(w.validations[0]?.report).toMatchObject({ passed: true, kind: 'online' });
    const state = (await w.online.describe('m')).learner;
    expect(state?.snapshotPending).toBe(false);
    expect(state?.lastSnapshot?.version).toMatch(/^1\.\d\.0$/);
    // Nothing new learned: no second registration of the same snapshot.
    const count = w.registered.length;
    await w.online.handle('m', w.ids.slice(0, 50));
    expect(w.registered.length).toBe(count);
  });

  it('starts a new learner from a new production version, audited', async () => {
    const w = world();
    await w.online.handle('m', w.ids.slice(0, 20));
    w.setProduction('2.0.0');
    await w.online.handle('m', w.ids.slice(20, 30));
    const view = (await w.online.describe('m')).learner;
    expect(view).toMatchObject({ parentVersion: '2.0.0', samplesSeen: 10 });
    expect(w.store.audits).toEqual([
      expect.objectContaining({ action: 'online.restarted', before: { from: '1.0.0', to: '2.0.0' } }),
    ]);
  });

  it('resets for a principal with the reason in the audit event; refuses an unknown model', async () => {
    const w = world();
    await w.online.handle('m', w.ids.slice(0, 20));
    const after = await w.online.reset({ id: 'k1', name: 'alice', role: 'scientist' }, 'm', 'start over');
    expect(after).toEqual({ model: 'm', enabled: true, learner: null });
    expect(w.store.audits[0]).toMatchObject({
      action: 'online.reset',
      actor: 'k1',
      comment: 'start over',
      before: { parentVersion: '1.0.0', samplesSeen: 20 },
    });
    await expect(w.online.reset({ id: 'k1', name: 'alice', role: 'scientist' }, 'nope', 'x')).rejects.toThrow(
      /no model nope/,
    );
  });
});
