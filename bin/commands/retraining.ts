/**
 * `serval retrain MODEL --reason …` and `serval jobs list|show|cancel`: the retraining API
 * (docs/retraining.md) at SERVAL_URL with SERVAL_API_KEY. Text for people, `--json` for the API's
 * body as it came. A refusal (a job already active, the cooldown) is the API's message on one line
 * of stderr and exit code 1; a malformed command line exit code 2.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { JobView } from '../../functions/core/retraining/jobs.js';
import { apiAction, listQuery } from './api-client.js';
import { jsonValue } from './platform.js';
import { listTable } from './tables.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('not an integer');
  return n;
}

function numbers(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.some((v) => !Number.isFinite(v)))
    throw new InvalidArgumentError('a comma-separated list of numbers');
  return list;
}

const pct = (f: number) => `${Math.round(f * 100)}%`;

/** A job in one of these states changes no more. */
const FINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);

export function renderJob(j: JobView): string {
  // A finished job's progress message is its outcome or error, printed on a line of its own.
  const doing = FINAL_STATES.has(j.state) ? '' : `  ${j.progress.message}`;
  const lines = [
    `job ${j.id}  ${j.model}  ${j.state}  ${pct(j.progress.fraction)}${doing}`,
    `  reason: ${j.reason} (${j.trigger})`,
  ];
  if (j.progress.trials > 0) lines.push(`  trial ${j.progress.trial} of ${j.progress.trials}`);
  if (j.resultVersion) lines.push(`  result: ${j.model}@${j.resultVersion}`);
  if (j.outcome) lines.push(`  outcome: ${j.outcome}`);
  if (j.error) lines.push(`  error: ${j.error}`);
  for (const d of j.duplicates ?? [])
    lines.push(`  also asked: ${d.at} by ${d.by} (${d.trigger}): ${d.reason}`);
  if (j.log?.length) {
    lines.push('  log:');
    for (const l of j.log) lines.push(`    ${l.at}  ${l.message}`);
  }
  return lines.join('\n');
}

export function renderJobs(items: readonly JobView[], nextCursor?: string | null): string {
  return listTable<JobView>(
    { items, nextCursor },
    [
      ['JOB', (j) => j.id],
      ['MODEL', (j) => j.model],
      ['STATE', (j) => j.state],
      ['PROGRESS', (j) => pct(j.progress.fraction)],
      ['RESULT', (j) => j.resultVersion],
      ['CREATED', (j) => j.createdAt],
    ],
    'no jobs',
  );
}

interface RetrainOptions {
  reason: string;
  trainer?: string;
  seed?: number;
  folds?: number;
  holdout?: number;
  margin?: number;
  l2?: number[];
  maxTrials?: number;
  strategy?: string;
  timeBudget?: number;
  factor?: number;
  space?: string;
  json?: boolean;
}

/** The request body of POST /v1/models/{name}/retrain from the options. */
export function retrainBody(o: RetrainOptions): Record<string, unknown> {
  const params = {
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.folds !== undefined ? { folds: o.folds } : {}),
    ...(o.holdout !== undefined ? { holdoutFraction: o.holdout } : {}),
    ...(o.margin !== undefined ? { margin: o.margin } : {}),
  };
  const search = {
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.space !== undefined ? { space: jsonValue(o.space, '--space') } : {}),
    ...(o.l2 ? { l2: o.l2 } : {}),
    ...(o.maxTrials !== undefined ? { maxTrials: o.maxTrials } : {}),
    ...(o.timeBudget !== undefined ? { timeBudgetMs: Math.round(o.timeBudget * 1000) } : {}),
    ...(o.factor !== undefined ? { factor: o.factor } : {}),
  };
  return {
    reason: o.reason,
    ...(o.trainer ? { trainer: o.trainer } : {}),
    ...(Object.keys(params).length ? { params } : {}),
    ...(Object.keys(search).length ? { search } : {}),
  };
}

export function retrainCommand(): Command {
  return new Command('retrain')
    .description('queue a retraining job for a model (docs/retraining.md)')
    .argument('<model>', 'the model')
    .requiredOption('--reason <text>', 'why: recorded on the job and in the audit trail')
    .option(
      '--trainer <name>',
      'logistic, softmax, mlp or linear (default: by the number of classes; linear for a regression model)',
    )
    .option('--seed <n>', 'seed of the split, folds and search', int)
    .option('--folds <n>', 'cross-validation folds', int)
    .option('--holdout <fraction>', 'held-out fraction', Number)
    .option(
      '--margin <m>',
      'accuracy the candidate must gain over production (a regressor: the fraction its RMSE must drop)',
      Number,
    )
    .option('--strategy <name>', 'grid (default), random or halving (successive halving)')
    .option(
      '--space <json|@file|->',
      'what to search, e.g. \'{"alpha": {"type": "float", "low": 1e-5, "high": 0.1, "log": true}}\' (docs/retraining.md lists each trainer\'s parameters)',
    )
    .option('--l2 <list>', 'L2 penalties to search, e.g. 0.001,0.01,0.1', numbers)
    .option('--max-trials <n>', 'at most n trials (random search: the number of draws, default 10)', int)
    .option(
      '--time-budget <seconds>',
      "no trial starts after this long, counted from the search's start",
      Number,
    )
    .option(
      '--factor <f>',
      'halving: keep the best 1/f of each rung, on f times the rows (default 3)',
      Number,
    )
    .option('--json', 'print the API response body')
    .action(
      apiAction('retrain', async (client, model: string, opts: RetrainOptions) => {
        const job = (await client.request(
          'POST',
          `/v1/models/${encodeURIComponent(model)}/retrain`,
          retrainBody(opts),
        )) as JobView;
        return opts.json ? job : renderJob(job);
      }),
    );
}

export function jobsCommand(): Command {
  const cmd = new Command('jobs').description('retraining jobs: list, show, watch, cancel');
  cmd
    .command('list')
    .description('jobs, newest first')
    .option('--model <name>', 'only this model')
    .option('--state <state>', 'queued, running, succeeded, failed or cancelled')
    .option('--limit <n>', 'at most n', int)
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'jobs list',
        async (
          client,
          opts: { model?: string; state?: string; limit?: number; cursor?: string; json?: boolean },
        ) => {
          const page = (await client.request('GET', `/v1/jobs${listQuery(opts)}`)) as {
            items: JobView[];
            nextCursor?: string | null;
          };
          return opts.json ? page : renderJobs(page.items ?? [], page.nextCursor);
        },
      ),
    );
  cmd
    .command('show')
    .description('a job: state, progress, result, recent log lines')
    .argument('<id>', 'job id')
    .option('--json', 'print the API response body')
    .action(
      apiAction('jobs show', async (client, id: string, opts: { json?: boolean }) => {
        const job = (await client.request('GET', `/v1/jobs/${encodeURIComponent(id)}`)) as JobView;
        return opts.json ? job : renderJob(job);
      }),
    );
  cmd
    .command('watch')
    .description('follow a job to its end with a progress bar on stderr; exit 0 only if it succeeded')
    .argument('<id>', 'job id')
    .option('--interval <seconds>', 'seconds between reads', Number, 1)
    .option('--json', 'print the final API response body')
    .action(
      apiAction('jobs watch', async (client, id: string, opts: { interval: number; json?: boolean }) => {
        const show = process.stderr.isTTY || process.env.SERVAL_PROGRESS === '1';
        let last = '';
        for (;;) {
          const job = (await client.request('GET', `/v1/jobs/${encodeURIComponent(id)}`)) as JobView;
          const p = job.progress;
          const line = `${job.state.padEnd(9)} [${'#'.repeat(Math.floor(p.fraction * 20)).padEnd(20, '.')}] ${pct(p.fraction).padStart(4)} trial ${p.trial}/${p.trials} ${p.message}`;
          if (show && line !== last) process.stderr.write(`\r${line}`);
          last = line;
          if (FINAL_STATES.has(job.state)) {
            if (show) process.stderr.write('\n');
            if (job.state !== 'succeeded') process.exitCode = 1;
            return opts.json ? job : renderJob(job);
          }
          await new Promise((r) => setTimeout(r, Math.max(0.05, opts.interval) * 1000));
        }
      }),
    );
  cmd
    .command('cancel')
    .description('cancel a queued job, or stop a running one at its next trial')
    .argument('<id>', 'job id')
    .option('--json', 'print the API response body')
    .action(
      apiAction('jobs cancel', async (client, id: string, opts: { json?: boolean }) => {
        const job = (await client.request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`)) as JobView;
        return opts.json ? job : renderJob(job);
      }),
    );
  return cmd;
}
