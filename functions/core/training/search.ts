/**
 * Hyperparameter search over a declared space: exhaustive grid, seeded random sampling, and
 * successive halving (scikit-learn's HalvingRandomSearchCV idea: many random candidates on a
 * small resource, the best 1/factor promoted to `factor` times the resource, until the full
 * resource). The objective is any async function of (params, resource), so a trial can run in
 * process, in a worker, or as a queued training job; `concurrency` trials run at once.
 *
 * Budgets: `maxTrials` (trials started) and `maxTimeMs` (no trial starts after it, read from an
 * injectable clock so tests decide what time it is). Trials in flight when a budget runs out
 * finish and are reported. Candidates are fixed before anything runs and trials are numbered in
 * launch order, so the same space, seed and deterministic objective give the same trials.
 */
import { validationFailed } from '../kernel/errors.js';
import { createRng, type Rng } from './random.js';

export type ParamValue = number | string | boolean;

export type ParamSpec =
  | {
      readonly type: 'float';
      readonly low: number;
      readonly high: number;
      /** Sample (and space `num` grid points) uniformly in log(value). */
      readonly log?: boolean;
      /** Grid points low, low + step, … ≤ high; random values are rounded to them. */
      readonly step?: number;
      /** Grid points: num values from low to high inclusive (log-spaced when `log`). */
      readonly num?: number;
    }
  | {
      readonly type: 'int';
      readonly low: number;
      readonly high: number;
      readonly log?: boolean;
      /** Default 1. */
      readonly step?: number;
    }
  | { readonly type: 'choice'; readonly values: readonly ParamValue[] };

export type ParamSpace = Readonly<Record<string, ParamSpec>>;
export type Params = Record<string, ParamValue>;

export interface ObjectiveResult {
  /** Higher is better unless `direction` is `minimize`. */
  readonly score: number;
  readonly [extra: string]: unknown;
}

/** `resource` is the halving rung's budget (rows, epochs…), or `resource.max`/null elsewhere. */
export type SearchObjective = (params: Params, resource: number | null) => Promise<ObjectiveResult>;

export interface Trial {
  /** Launch order, from 0. */
  readonly id: number;
  readonly params: Params;
  readonly resource: number | null;
  /** Successive-halving rung (0 = smallest resource); null for grid and random. */
  readonly rung: number | null;
  readonly status: 'ok' | 'failed';
  /** Null when the trial failed (threw, or returned a non-finite score). */
  readonly score: number | null;
  readonly durationMs: number;
  /** The objective's whole result (score and extras). */
  readonly result: ObjectiveResult | null;
  readonly error: string | null;
}

export interface SearchOptions {
  readonly strategy: 'grid' | 'random' | 'halving';
  readonly space: ParamSpace;
  readonly objective: SearchObjective;
  /** Default maximize. */
  readonly direction?: 'maximize' | 'minimize';
  /** Default 0. */
  readonly seed?: number;
  /** Random: candidates to draw (default maxTrials, else 10). Halving: first-rung candidates (default factor^(rungs − 1)). */
  readonly candidates?: number;
  /** Halving's resource range (required there); elsewhere `max` is passed to every trial. */
  readonly resource?: { readonly min: number; readonly max: number; readonly integer?: boolean };
  /** Halving's reduction factor (default 3). */
  readonly factor?: number;
  readonly maxTrials?: number;
  readonly maxTimeMs?: number;
  /** Milliseconds, for the time budget and durations (default performance.now). */
  readonly clock?: () => number;
  /** Trials in flight at once (default 1). */
  readonly concurrency?: number;
}

export interface SearchResult {
  readonly trials: readonly Trial[];
  /** Best successful trial (for halving: of the highest rung that produced one). */
  readonly best: Trial | null;
  readonly stoppedBy: 'completed' | 'maxTrials' | 'maxTime';
}

const MAX_GRID = 1_000_000;

function bad(field: string, message: string) {
  return validationFailed(message, { field });
}

function checkSpace(space: ParamSpace): [string, ParamSpec][] {
  const entries = Object.entries(space ?? {});
  if (entries.length === 0) throw bad('space', 'the parameter space is empty');
  for (const [name, spec] of entries) {
    const field = `space.${name}`;
    if (spec.type === 'choice') {
      if (!Array.isArray(spec.values) || spec.values.length === 0)
        throw bad(field, `${name}: a choice needs at least one value`);
      continue;
    }
    if (spec.type !== 'float' && spec.type !== 'int')
      throw bad(field, `${name}: type must be float, int or choice`);
    const { low, high } = spec;
    if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high))
      throw bad(field, `${name}: low and high must be finite with low ≤ high`);
    if (spec.type === 'int' && !(Number.isInteger(low) && Number.isInteger(high)))
      throw bad(field, `${name}: an int range needs integer bounds`);
    if (spec.log && !(low > 0)) throw bad(field, `${name}: a log scale needs low > 0`);
    if (spec.step !== undefined && !(spec.step > 0 && Number.isFinite(spec.step)))
      throw bad(field, `${name}: step must be > 0`);
    if (spec.type === 'int' && spec.step !== undefined && !Number.isInteger(spec.step))
      throw bad(field, `${name}: an int step must be an integer`);
    if (spec.type === 'float' && spec.num !== undefined && !(Number.isInteger(spec.num) && spec.num >= 1))
      throw bad(field, `${name}: num must be an integer ≥ 1`);
  }
  return entries;
}

/** The values a grid takes for one parameter. */
function gridValues(name: string, spec: ParamSpec): ParamValue[] {
  if (spec.type === 'choice') return [...spec.values];
  const { low, high } = spec;
  if (spec.type === 'float' && spec.step === undefined) {
    const num = spec.num;
    if (num === undefined)
      throw bad(`space.${name}`, `${name}: a float parameter needs step or num to be searched by grid`);
    if (num === 1 || low === high) return [low];
    // Rounded to 12 significant digits so a log grid from 1e-4 reads 0.001, not 0.0010000000000000002.
    return Array.from({ length: num }, (_, i) =>
      i === num - 1
        ? high
        : +(
            spec.log
              ? Math.exp(Math.log(low) + ((Math.log(high) - Math.log(low)) * i) / (num - 1))
              : low + ((high - low) * i) / (num - 1)
          ).toPrecision(12),
    );
  }
  const step = spec.step ?? 1;
  const count = Math.floor((high - low) / step + 1e-9) + 1;
  if (count > MAX_GRID) throw bad(`space.${name}`, `${name}: more than ${MAX_GRID} grid values`);
  // Multiplying rather than accumulating keeps 0.1-steps from drifting (0.30000000000000004).
  return Array.from({ length: count }, (_, i) =>
    spec.type === 'int' ? low + i * step : +(low + i * step).toPrecision(12),
  );
}

export function gridCandidates(space: ParamSpace): Params[] {
  const entries = checkSpace(space);
  const axes = entries.map(([name, spec]) => [name, gridValues(name, spec)] as const);
  const total = axes.reduce((p, [, v]) => p * v.length, 1);
  if (total > MAX_GRID) throw bad('space', `the grid has ${total} points, more than ${MAX_GRID}`);
  const out: Params[] = [];
  const idx = new Array<number>(axes.length).fill(0);
  for (let t = 0; t < total; t++) {
    const p: Params = {};
    axes.forEach(([name, values], a) => {
      p[name] = values[idx[a] as number] as ParamValue;
    });
    out.push(p);
    // Odometer: the last declared parameter varies fastest.
    for (let a = axes.length - 1; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1;
      if ((idx[a] as number) < (axes[a] as readonly [string, ParamValue[]])[1].length) break;
      idx[a] = 0;
    }
  }
  return out;
}

function sampleOne(spec: ParamSpec, rng: Rng): ParamValue {
  if (spec.type === 'choice') return spec.values[rng.int(spec.values.length)] as ParamValue;
  const { low, high } = spec;
  if (spec.type === 'int') {
    const step = spec.step ?? 1;
    if (spec.log && step === 1) {
      const v = Math.floor(Math.exp(Math.log(low) + rng.next() * (Math.log(high + 1) - Math.log(low))));
      return Math.min(high, Math.max(low, v));
    }
    return low + step * rng.int(Math.floor((high - low) / step) + 1);
  }
  let v = spec.log
    ? Math.exp(Math.log(low) + rng.next() * (Math.log(high) - Math.log(low)))
    : low + rng.next() * (high - low);
  if (spec.step !== undefined) {
    v = Math.min(high, low + Math.round((v - low) / spec.step) * spec.step);
    v = +v.toPrecision(12);
  }
  return v;
}

export function randomCandidates(space: ParamSpace, count: number, seed: number): Params[] {
  const entries = checkSpace(space);
  const rng = createRng(seed);
  return Array.from({ length: count }, () => {
    const p: Params = {};
    for (const [name, spec] of entries) p[name] = sampleOne(spec, rng);
    return p;
  });
}

interface Pending {
  readonly params: Params;
  readonly resource: number | null;
  readonly rung: number | null;
}

export async function search(options: SearchOptions): Promise<SearchResult> {
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw bad('seed', 'seed must be a safe integer');
  const maximize = (options.direction ?? 'maximize') === 'maximize';
  if (options.direction !== undefined && options.direction !== 'maximize' && options.direction !== 'minimize')
    throw bad('direction', 'direction must be maximize or minimize');
  const concurrency = options.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw bad('concurrency', 'concurrency must be an integer ≥ 1');
  const maxTrials = options.maxTrials ?? Infinity;
  if (!(maxTrials === Infinity || (Number.isInteger(maxTrials) && maxTrials >= 1)))
    throw bad('maxTrials', 'maxTrials must be an integer ≥ 1');
  const maxTimeMs = options.maxTimeMs ?? Infinity;
  if (!(maxTimeMs > 0)) throw bad('maxTimeMs', 'maxTimeMs must be > 0');
  const clock = options.clock ?? (() => performance.now());
  const t0 = clock();

  const trials: Trial[] = [];
  let launched = 0;
  let stoppedBy: SearchResult['stoppedBy'] = 'completed';
  const better = (a: number, b: number) => (maximize ? a > b : a < b);

  /** Runs candidates up to the budgets; returns their trials in launch order. */
  const run = async (batch: readonly Pending[]): Promise<Trial[]> => {
    const done: Trial[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batch.length && stoppedBy === 'completed') {
        if (launched >= maxTrials) {
          stoppedBy = 'maxTrials';
          return;
        }
        if (clock() - t0 >= maxTimeMs) {
          stoppedBy = 'maxTime';
          return;
        }
        const c = batch[next++] as Pending;
        const id = launched++;
        const start = clock();
        let result: ObjectiveResult | null = null;
        let error: string | null = null;
        try {
          result = await options.objective({ ...c.params }, c.resource);
          if (!result || typeof result.score !== 'number' || !Number.isFinite(result.score))
            error = `the objective returned a non-finite score (${String(result?.score)})`;
        } catch (err) {
          // An error with an empty message must still fail the trial: it has no score to read.
          error = (err instanceof Error ? err.message || err.name : String(err)) || 'the objective failed';
        }
        done.push({
          id,
          params: c.params,
          resource: c.resource,
          rung: c.rung,
          status: error ? 'failed' : 'ok',
          score: error ? null : (result as ObjectiveResult).score,
          durationMs: clock() - start,
          result,
          error,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    done.sort((a, b) => a.id - b.id);
    trials.push(...done);
    return done;
  };

  const pickBest = (list: readonly Trial[]): Trial | null => {
    let best: Trial | null = null;
    for (const t of list) {
      if (t.status === 'ok' && (!best || better(t.score as number, best.score as number))) best = t;
    }
    return best;
  };

  const fullResource = options.resource ? options.resource.max : null;
  if (options.strategy === 'grid' || options.strategy === 'random') {
    let candidates: Params[];
    if (options.strategy === 'grid') candidates = gridCandidates(options.space);
    else {
      const count = options.candidates ?? (maxTrials === Infinity ? 10 : maxTrials);
      if (!(Number.isInteger(count) && count >= 1))
        throw bad('candidates', 'candidates must be an integer ≥ 1');
      candidates = randomCandidates(options.space, count, seed);
    }
    await run(candidates.map((params) => ({ params, resource: fullResource, rung: null })));
    return { trials, best: pickBest(trials), stoppedBy };
  }
  if (options.strategy !== 'halving') throw bad('strategy', 'strategy must be grid, random or halving');

  const factor = options.factor ?? 3;
  if (!(factor > 1 && Number.isFinite(factor))) throw bad('factor', 'factor must be > 1');
  const res = options.resource;
  if (!res || !(res.min > 0 && res.max >= res.min && Number.isFinite(res.max)))
    throw bad('resource', 'successive halving needs resource { min > 0, max ≥ min }');
  const integer = res.integer ?? true;
  const rungs = Math.floor(Math.log(res.max / res.min) / Math.log(factor) + 1e-9) + 1;
  const count = options.candidates ?? factor ** (rungs - 1);
  if (!(Number.isInteger(count) && count >= 1)) throw bad('candidates', 'candidates must be an integer ≥ 1');
  let pool = randomCandidates(options.space, Math.ceil(count), seed);
  let best: Trial | null = null;
  for (let rung = 0; rung < rungs && pool.length > 0; rung++) {
    // The last rung gets the whole resource; earlier ones a factor less each, as in sklearn.
    const raw = res.max / factor ** (rungs - 1 - rung);
    const resource = integer ? Math.max(1, Math.round(raw)) : raw;
    const done = await run(pool.map((params) => ({ params, resource, rung })));
    const ok = done.filter((t) => t.status === 'ok');
    if (ok.length > 0) best = pickBest(ok);
    if (stoppedBy !== 'completed') break;
    // Stable sort: equal scores keep launch order, so promotion is deterministic.
    const ranked = [...ok].sort((a, b) =>
      a.score === b.score ? a.id - b.id : better(a.score as number, b.score as number) ? -1 : 1,
    );
    pool = ranked.slice(0, Math.ceil(ok.length / factor)).map((t) => t.params);
  }
  return { trials, best, stoppedBy };
}
