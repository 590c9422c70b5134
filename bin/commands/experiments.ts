/**
 * `serval experiments ...`:
 * - `compare FILE...` runs the statistics engine over case files ({"name", "kind", "params",
 *   "input"}, other keys ignored; the format of test/fixtures/experiments/README.md) and prints one
 *   JSON object {name: result}, the format check.py reads. Bad input: one line on stderr, exit 2.
 * - create, list, get, start, pause, conclude, results, assignment, events, weights: the
 *   experiments API (docs/experiments.md, "CLI") at SERVAL_URL with SERVAL_API_KEY. Text for
 *   people, `--json` for the API's body as it came. A refusal is the API's message on one line of
 *   stderr and exit code 1; a malformed command line exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { parseCase, runCase } from '../../functions/core/experiments/cases.js';
import type { Experiment } from '../../functions/core/experiments/definition.js';
import type { Results } from '../../functions/core/experiments/results.js';
import { apiAction, CliError, listQuery } from './api-client.js';
import { withCompareCommand } from './compare-files.js';
import { renderExperiment, renderList, renderResults } from './experiments-render.js';

/** The API takes at most this many outcome events per request; `events` sends larger files in parts. */
const EVENTS_PER_REQUEST = 500;

export function experimentsCommand(): Command {
  const cmd = withCompareCommand(
    new Command('experiments').description(
      'Experiments (A/B/n, canary, shadow) through the API, and the statistics engine (compare)',
    ),
    {
      description: 'compute the statistics of case files and print {name: result} as JSON',
      files: 'case files: {"name", "kind", "params", "input"}',
      parse: parseCase,
      run: runCase,
    },
  );

  cmd
    .command('create')
    .description('create an experiment (state draft) from a JSON file or from options')
    .option('--file <spec.json>', 'the request body of POST /v1/experiments')
    .option('--model <name>', 'the model')
    .option('--name <name>', 'a name (default: "<kind> of <model>")')
    .option('--kind <kind>', 'ab, canary or shadow', 'ab')
    .option(
      '--variant <[name=]version[:weight][:control]>',
      'a variant (repeat); canary and shadow variants take no weight',
      collect,
      [],
    )
    .option('--metric <name:kind:goal>', 'the primary metric, e.g. converted:binary:maximize')
    .option('--guardrail <name:kind:goal>', 'a guardrail metric (repeat)', collect, [])
    .option('--min-samples <n>', 'samples per variant before anything is decided', int)
    .option('--alpha <a>', 'significance level', Number)
    .option('--steps <list>', 'canary ramp, e.g. 5,25,50,100')
    .option('--bake-minutes <n>', 'canary minutes per step', int)
    .option('--json', 'print the API response body')
    .action(
      apiAction('experiments create', async (client, opts: CreateOptions) => {
        const body = opts.file ? await readJson(opts.file) : createBody(opts);
        const e = await client.request('POST', '/v1/experiments', body);
        return opts.json ? e : renderExperiment(e as Experiment);
      }),
    );

  cmd
    .command('list')
    .description('experiments, newest first')
    .option('--model <name>', 'only this model')
    .option('--state <state>', 'draft, running, paused or concluded')
    .option('--limit <n>', 'at most n', int)
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'experiments list',
        async (
          client,
          opts: { model?: string; state?: string; limit?: number; cursor?: string; json?: boolean },
        ) => {
          const page = (await client.request('GET', `/v1/experiments${listQuery(opts)}`)) as {
            items: Experiment[];
            nextCursor?: string;
          };
          return opts.json ? page : renderList(page.items ?? [], page.nextCursor);
        },
      ),
    );

  cmd
    .command('get')
    .description('definition, state, weights and outcome')
    .argument('<id>', 'experiment id')
    .option('--json', 'print the API response body')
    .action(
      apiAction('experiments get', async (client, id: string, opts: { json?: boolean }) => {
        const e = await client.request('GET', path(id));
        return opts.json ? e : renderExperiment(e as Experiment);
      }),
    );

  for (const [name, description] of [
    ['start', 'start or resume: the variants serve the model'],
    ['pause', 'pause: production serves again'],
  ] as const) {
    cmd
      .command(name)
      .description(description)
      .argument('<id>', 'experiment id')
      .option('--comment <text>', 'kept in the audit trail')
      .option('--json', 'print the API response body')
      .action(
        apiAction(
          `experiments ${name}`,
          async (client, id: string, opts: { comment?: string; json?: boolean }) => {
            const e = await client.request('POST', path(id, name), comment(opts));
            return opts.json ? e : renderExperiment(experimentOf(e));
          },
        ),
      );
  }

  cmd
    .command('conclude')
    .description(
      'conclude; with --promote the winner (or --variant) becomes production under the registry rules',
    )
    .argument('<id>', 'experiment id')
    .option('--promote', 'promote the winner (or --variant)')
    .option('--variant <name>', 'conclude with this variant chosen, whatever the results say')
    .option('--comment <text>', 'kept in the audit trail')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'experiments conclude',
        async (
          client,
          id: string,
          opts: { promote?: boolean; variant?: string; comment?: string; json?: boolean },
        ) => {
          const body = {
            ...(opts.promote ? { promote: true } : {}),
            ...(opts.variant !== undefined ? { variant: opts.variant } : {}),
            ...comment(opts),
          };
          const e = await client.request('POST', path(id, 'conclude'), body);
          return opts.json ? e : renderExperiment(experimentOf(e));
        },
      ),
    );

  cmd
    .command('results')
    .description('per variant n/mean/CI, per comparison diff/lift/p-values, guardrails, SRM, decision')
    .argument('<id>', 'experiment id')
    .option('--json', 'print the API response body')
    .action(
      apiAction('experiments results', async (client, id: string, opts: { json?: boolean }) => {
        const r = await client.request('GET', path(id, 'results'));
        return opts.json ? r : renderResults(r as Results);
      }),
    );

  cmd
    .command('assignment')
    .description("a subject's variant, computed without enrolling it")
    .argument('<id>', 'experiment id')
    .requiredOption('--subject <subject>', 'the subject (user id, session, ...)')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'experiments assignment',
        async (client, id: string, opts: { subject: string; json?: boolean }) => {
          const a = (await client.request(
            'GET',
            `${path(id, 'assignment')}?${new URLSearchParams({ subject: opts.subject })}`,
          )) as {
            subject: string;
            variant: string;
            version: string;
            bucket: number;
            servedBy: string | null;
          };
          if (opts.json) return a;
          const served = a.servedBy ? `served by ${a.servedBy}` : 'not running: production serves';
          return `${a.subject} → ${a.variant} (version ${a.version}, bucket ${a.bucket}; ${served})`;
        },
      ),
    );

  cmd
    .command('events')
    .description(
      'send outcome events [{eventId, subject, metric, value}] from a JSON file (a replayed eventId counts once)',
    )
    .argument('<id>', 'experiment id')
    .requiredOption('--file <events.json>', 'a JSON array of events')
    .option('--json', 'print the API response bodies')
    .action(
      apiAction('experiments events', async (client, id: string, opts: { file: string; json?: boolean }) => {
        const events = await readJson(opts.file);
        if (!Array.isArray(events) || events.length === 0) {
          throw new CliError(
            `${opts.file}: expected a non-empty JSON array of {eventId, subject, metric, value}`,
            2,
          );
        }
        let accepted = 0;
        let duplicates = 0;
        const bodies: unknown[] = [];
        for (let i = 0; i < events.length; i += EVENTS_PER_REQUEST) {
          const r = (await client.request(
            'POST',
            path(id, 'events'),
            events.slice(i, i + EVENTS_PER_REQUEST),
          )) as {
            accepted?: number;
            duplicates?: number;
          };
          bodies.push(r);
          accepted += r.accepted ?? 0;
          duplicates += r.duplicates ?? 0;
        }
        return opts.json
          ? bodies.length === 1
            ? bodies[0]
            : bodies
          : `accepted ${accepted}, duplicates ${duplicates}`;
      }),
    );

  cmd
    .command('weights')
    .description(
      'new weights of an A/B experiment (moves as few subjects as possible; starts a new SRM epoch)',
    )
    .argument('<id>', 'experiment id')
    .argument('<weights...>', 'name=weight for each variant, summing to 100')
    .option('--comment <text>', 'kept in the audit trail')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'experiments weights',
        async (client, id: string, pairs: string[], opts: { comment?: string; json?: boolean }) => {
          const weights = pairs.map((p) => {
            const m = /^([^=]+)=(\d+)$/.exec(p);
            if (!m) throw new CliError(`"${p}" is not name=weight (an integer percentage)`, 2);
            return { name: m[1]!, weight: Number(m[2]) };
          });
          const e = await client.request('PATCH', path(id), { weights, ...comment(opts) });
          return opts.json ? e : renderExperiment(experimentOf(e));
        },
      ),
    );

  return cmd;
}

interface CreateOptions {
  file?: string;
  model?: string;
  name?: string;
  kind: string;
  variant: string[];
  metric?: string;
  guardrail: string[];
  minSamples?: number;
  alpha?: number;
  steps?: string;
  bakeMinutes?: number;
  json?: boolean;
}

/** The create body from options; the API checks everything else (weights, controls, versions). */
export function createBody(o: CreateOptions): Record<string, unknown> {
  if (!o.model) throw new CliError('give --file spec.json, or --model with --variant (at least two)', 2);
  if (o.variant.length < 2)
    throw new CliError('give at least two --variant [name=]version[:weight][:control]', 2);
  const canary =
    o.steps !== undefined || o.bakeMinutes !== undefined
      ? {
          ...(o.steps !== undefined ? { steps: o.steps.split(',').map((s) => int(s.trim())) } : {}),
          ...(o.bakeMinutes !== undefined ? { bakeMinutes: o.bakeMinutes } : {}),
        }
      : undefined;
  return {
    name: o.name ?? `${o.kind} of ${o.model}`,
    model: o.model,
    kind: o.kind,
    variants: o.variant.map(parseVariant),
    ...(o.metric !== undefined ? { metric: parseMetric(o.metric) } : {}),
    ...(o.guardrail.length > 0 ? { guardrails: o.guardrail.map(parseMetric) } : {}),
    ...(o.minSamples !== undefined ? { minSamples: o.minSamples } : {}),
    ...(o.alpha !== undefined ? { alpha: o.alpha } : {}),
    ...(canary ? { canary } : {}),
  };
}

/** `[name=]version[:weight][:control]`, e.g. `1.1.0:50`, `1.0.0:50:control`, `b=1.0.0:50`, `1.0.0:control`. */
export function parseVariant(spec: string): Record<string, unknown> {
  const eq = spec.indexOf('=');
  const name = eq >= 0 ? spec.slice(0, eq) : undefined;
  const [version, ...rest] = (eq >= 0 ? spec.slice(eq + 1) : spec).split(':');
  if (!version) throw new CliError(`--variant ${spec}: no version`, 2);
  const out: Record<string, unknown> = { ...(name ? { name } : {}), version };
  for (const part of rest) {
    if (part === 'control' && out.control === undefined) out.control = true;
    else if (/^\d+$/.test(part) && out.weight === undefined && out.control === undefined)
      out.weight = Number(part);
    else throw new CliError(`--variant ${spec}: expected [name=]version[:weight][:control]`, 2);
  }
  return out;
}

/** `name:kind:goal`, e.g. `converted:binary:maximize`. */
export function parseMetric(spec: string): { name: string; kind: string; goal: string } {
  const [name, kind, goal, extra] = spec.split(':');
  if (!name || !kind || !goal || extra !== undefined) {
    throw new CliError(`metric ${spec}: expected name:kind:goal, e.g. converted:binary:maximize`, 2);
  }
  return { name, kind, goal };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`"${value}" is not a whole number`, 2);
  return n;
}

function path(id: string, action?: string): string {
  return `/v1/experiments/${encodeURIComponent(id)}${action ? `/${action}` : ''}`;
}

function comment(opts: { comment?: string }) {
  return opts.comment !== undefined ? { comment: opts.comment } : {};
}

/** State changes may answer the experiment, or {experiment, results} (conclude). */
function experimentOf(body: unknown): Experiment {
  const b = body as { experiment?: Experiment } & Experiment;
  return b.experiment ?? b;
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      2,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON (${(err as Error).message})`, 2);
  }
}
