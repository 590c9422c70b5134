/**
 * k-fold cross-validation over row indices, so callers slice their own data (nested arrays,
 * packed matrices, rows in S3) and any trainer fits. Folds are a pure function of the targets
 * and the seed: the same rows and seed give the same folds, hence the same models.
 *
 * - classification (stratified): rows are shuffled by the seed, ordered by class (stably, so
 *   the shuffle survives within a class), then dealt to folds round-robin. Every fold gets each
 *   class's count ÷ k rounded up or down, and fold sizes differ by at most one row.
 * - regression: the shuffled rows cut into k contiguous folds, sizes differing by at most one.
 */
import { validationFailed } from '../kernel/errors.js';
import { mapLimit } from './pool.js';
import { createRng } from './random.js';

export type CvTask = 'classification' | 'regression';

export interface FoldOptions {
  /** Number of folds (default 5). */
  readonly k?: number;
  /** Default 0. */
  readonly seed?: number;
  /** Default classification (stratified). */
  readonly task?: CvTask;
}

export interface Fold {
  readonly index: number;
  /** Row indices, ascending. */
  readonly train: readonly number[];
  readonly test: readonly number[];
}

/** The fold (0..k-1) each row is tested in. */
export function foldAssignment(y: ArrayLike<number>, options: FoldOptions = {}): Int32Array {
  const k = options.k ?? 5;
  const seed = options.seed ?? 0;
  const task = options.task ?? 'classification';
  const n = y.length;
  if (!(Number.isInteger(k) && k >= 2)) throw validationFailed('k must be an integer ≥ 2', { field: 'k' });
  if (k > n) throw validationFailed(`${k} folds need at least ${k} rows, got ${n}`, { field: 'k' });
  if (!Number.isSafeInteger(seed)) throw validationFailed('seed must be a safe integer', { field: 'seed' });
  const order = createRng(seed).permutation(n);
  const fold = new Int32Array(n);
  if (task === 'regression') {
    const base = Math.floor(n / k);
    const extra = n % k;
    let pos = 0;
    for (let f = 0; f < k; f++) {
      const size = base + (f < extra ? 1 : 0);
      for (let i = 0; i < size; i++) fold[order[pos++] as number] = f;
    }
    return fold;
  }
  if (task !== 'classification')
    throw validationFailed('task must be classification or regression', { field: 'task' });
  const byClass = new Map<number, number[]>();
  for (const i of order) {
    const c = y[i] as number;
    if (!Number.isInteger(c))
      throw validationFailed(`target ${i} must be a class index (an integer)`, { field: 'y', row: i });
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  let pos = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const i of byClass.get(c) as number[]) fold[i] = pos++ % k;
  }
  return fold;
}

export function kFolds(y: ArrayLike<number>, options: FoldOptions = {}): Fold[] {
  const assignment = foldAssignment(y, options);
  const k = options.k ?? 5;
  const folds = Array.from({ length: k }, (_, index) => ({
    index,
    train: [] as number[],
    test: [] as number[],
  }));
  for (let i = 0; i < assignment.length; i++) {
    const a = assignment[i] as number;
    for (const f of folds) (f.index === a ? f.test : f.train).push(i);
  }
  return folds;
}

export interface CrossValidateOptions<M> extends FoldOptions {
  /** Trains on the fold's training rows. */
  readonly fit: (trainRows: readonly number[], fold: number) => M | Promise<M>;
  /** Scores the model on the fold's held-out rows; every fold must return the same metric names. */
  readonly evaluate: (
    model: M,
    testRows: readonly number[],
    fold: number,
  ) => Readonly<Record<string, number>> | Promise<Readonly<Record<string, number>>>;
  /** Folds in flight at once (default 1). */
  readonly concurrency?: number;
}

export interface FoldResult {
  readonly fold: number;
  readonly trainRows: number;
  readonly testRows: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface CrossValidationResult {
  readonly folds: readonly FoldResult[];
  readonly mean: Readonly<Record<string, number>>;
  /** Population standard deviation over folds (numpy's default, ddof = 0). */
  readonly std: Readonly<Record<string, number>>;
}

export async function crossValidate<M>(
  y: ArrayLike<number>,
  options: CrossValidateOptions<M>,
): Promise<CrossValidationResult> {
  const folds = kFolds(y, options);
  const results = await mapLimit(folds, options.concurrency ?? 1, async (f) => {
    const model = await options.fit(f.train, f.index);
    const metrics = await options.evaluate(model, f.test, f.index);
    return { fold: f.index, trainRows: f.train.length, testRows: f.test.length, metrics };
  });
  const names = Object.keys((results[0] as FoldResult).metrics);
  for (const r of results) {
    const got = Object.keys(r.metrics);
    if (got.length !== names.length || names.some((m) => !(m in r.metrics)))
      throw validationFailed(
        `fold ${r.fold} returned metrics ${got.join(', ')}, expected ${names.join(', ')}`,
        {
          field: 'evaluate',
        },
      );
  }
  const mean: Record<string, number> = {};
  const std: Record<string, number> = {};
  for (const m of names) {
    const v = results.map((r) => r.metrics[m] as number);
    const mu = v.reduce((a, b) => a + b, 0) / v.length;
    mean[m] = mu;
    std[m] = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / v.length);
  }
  return { folds: results, mean, std };
}
