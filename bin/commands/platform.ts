/**
 * The `serval` commands of the HTTP API: one per route of the route table
 * (functions/contract/routes.ts). Common ones are written by hand with tables for people; the
 * rest are reached through `serval api <operationId>`, which builds any request from the table.
 * COMMAND_OF names the command of every operationId, and test/unit/cli/coverage.test.ts checks
 * each exists, so a new route cannot go without one (its type fails to compile first).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { Command } from 'commander';
import { type OperationId, ROUTES, type Route } from '../../functions/contract/routes.js';
import type { ApiKeyView } from '../../functions/core/auth/api-keys.js';
import type { FeedbackSummary } from '../../functions/core/inference/feedback.js';
import type { PredictOutput } from '../../functions/core/inference/predict-request.js';
import type { StatsReport, VersionStats } from '../../functions/core/inference/stats.js';
import type { AlertRecord, ReportRecord } from '../../functions/core/monitoring/ports.js';
import { writeTarGz } from '../../functions/core/registry/archive.js';
import { IMPORT_FORMATS } from '../../functions/core/registry/types.js';
import type { WebhookView } from '../../functions/core/webhooks/types.js';
import {
  type ApiClient,
  apiAction,
  apiClient,
  CliError,
  KEY_ENV,
  URL_ENV,
  writeProfile,
} from './api-client.js';
import { renderDriftReport, renderDriftReports } from './drift-render.js';
import { clip, type Json, listTable, num, str, table } from './tables.js';

/** The command that serves each operation; `api <op>` where no hand-written one does. */
export const COMMAND_OF = {
  health: 'health',
  healthDetailed: 'health --detailed',
  openapi: 'api openapi',
  getMode: 'mode get',
  setMode: 'mode set',
  listAudit: 'audit',
  metrics: 'api metrics',
  issueToken: 'api issueToken',
  createKey: 'keys create',
  listKeys: 'keys list',
  revokeKey: 'keys revoke',
  createModel: 'models create',
  listModels: 'models list',
  getModel: 'models get',
  updateModel: 'models update',
  deleteModel: 'models delete',
  registerVersion: 'register',
  listVersions: 'versions list',
  getVersion: 'versions get',
  updateVersion: 'api updateVersion',
  deleteVersion: 'versions delete',
  newUploadUrl: 'api newUploadUrl',
  completeUpload: 'api completeUpload',
  getArtifactUrl: 'versions download-url',
  verifyArtifact: 'versions verify',
  validateVersion: 'api validateVersion',
  transitionVersion: 'transition',
  decideApproval: 'approve',
  rollback: 'rollback',
  setAlias: 'api setAlias',
  deleteAlias: 'api deleteAlias',
  productionHistory: 'api productionHistory',
  compareVersions: 'api compareVersions',
  putBaseline: 'api putBaseline',
  getBaseline: 'api getBaseline',
  checkDrift: 'drift check',
  listDriftReports: 'drift reports',
  putPolicy: 'api putPolicy',
  getPolicy: 'api getPolicy',
  getOnline: 'api getOnline',
  resetOnline: 'api resetOnline',
  listAlerts: 'alerts list',
  ackAlert: 'alerts ack',
  createWebhook: 'webhooks create',
  listWebhooks: 'webhooks list',
  deleteWebhook: 'webhooks delete',
  predict: 'predict',
  explain: 'api explain',
  feedback: 'feedback',
  stats: 'stats',
  createExperiment: 'experiments create',
  listExperiments: 'experiments list',
  getExperiment: 'experiments get',
  setExperimentWeights: 'experiments weights',
  startExperiment: 'experiments start',
  pauseExperiment: 'experiments pause',
  concludeExperiment: 'experiments conclude',
  recordExperimentEvents: 'experiments events',
  getExperimentAssignment: 'experiments assignment',
  getExperimentResults: 'experiments results',
  listExperimentSnapshots: 'api listExperimentSnapshots',
  listQualityReports: 'api listQualityReports',
  getPerformance: 'api getPerformance',
  getFairness: 'api getFairness',
  versionFairness: 'api versionFairness',
  retrainModel: 'retrain',
  listJobs: 'jobs list',
  getJob: 'jobs show',
  cancelJob: 'jobs cancel',
} as const satisfies Record<OperationId, string>;

export function routeOf(op: string): Route {
  const route = ROUTES.find((r) => r.operationId === op);
  if (!route) {
    throw new CliError(`no operation ${op}; one of: ${ROUTES.map((r) => r.operationId).join(', ')}`, 2);
  }
  return route;
}

/** The request of an operation: path parameters filled in (each must be given), query appended. */
export function requestOf(
  op: string,
  params: Record<string, string> = {},
  query: Record<string, string | string[] | undefined> = {},
): { method: string; path: string } {
  const route = routeOf(op);
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined)
      throw new CliError(`${op} needs the path parameter ${name} (--param ${name}=…)`, 2);
    return encodeURIComponent(value);
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) q.append(k, one);
  }
  return { method: route.method, path: q.size > 0 ? `${path}?${q}` : path };
}

async function call(
  client: ApiClient,
  op: OperationId,
  params: Record<string, string> = {},
  query: Record<string, string | string[] | undefined> = {},
  body?: unknown,
): Promise<unknown> {
  const { method, path } = requestOf(op, params, query);
  return client.request(method, path, body);
}

/** A prediction for people: who answered and why, one row per instance, attributions if asked. */
export function renderPrediction(r: PredictOutput): string {
  const cell = (p: unknown) => (typeof p === 'object' && p !== null ? JSON.stringify(p) : str(p));
  const probs = r.probabilities;
  let head = `${r.model}@${r.modelVersion} (${r.runtime})`;
  if (r.experimentId) head += `, experiment ${r.experimentId} variant ${r.variant}`;
  if (r.fallbackFrom) head += `, FALLBACK: ${r.fallbackFrom} failed to answer`;
  const lines = [
    head,
    table([
      ['#', 'PREDICTION', ...(probs ? ['PROBABILITIES'] : []), 'PREDICTION ID'],
      ...r.predictions.map((p, i) => [
        String(i),
        cell(p),
        ...(probs ? [cell(probs[i])] : []),
        str(r.predictionIds[i]),
      ]),
    ]),
  ];
  r.explanations?.forEach((e, i) => {
    // Largest effect first: what moved this prediction most.
    const terms = Object.entries(e.attributions).sort(([, a], [, b]) => Math.abs(b) - Math.abs(a));
    lines.push(
      '',
      `#${i}: ${e.space === 'logit' ? 'log-odds' : 'value'} ${num(e.value)} = base ${num(e.base)} + attributions`,
      table(terms.map(([feature, v]) => [`  ${feature}`, v >= 0 ? `+${num(v)}` : num(v)])),
    );
  });
  return lines.join('\n');
}

/** Serving statistics for people: one row per version and one for them all. */
export function renderStats(r: StatsReport & { model: string }): string {
  const pctOf = (x: number | null) => (x === null ? '–' : `${num(x * 100)}%`);
  const ms = (x: number | undefined) => (x === undefined ? '–' : num(x));
  const row = (v: VersionStats) => {
    const c = v.feedback?.classification;
    const g = v.feedback?.regression;
    return [
      v.version ?? 'all',
      String(v.requests),
      pctOf(v.errorRate),
      String(v.predictions),
      ms(v.latencyMs?.p50),
      ms(v.latencyMs?.p95),
      ms(v.latencyMs?.p99),
      num(v.meanConfidence),
      String(v.feedback?.count ?? 0),
      c ? num(c.accuracy) : '–',
      c ? num(c.f1) : '–',
      g ? num(g.rmse) : '–',
      pctOf(v.capture.completeness),
    ];
  };
  const versions = r.versions ?? [];
  return [
    `${r.model}, ${str(r.from)} → ${str(r.to)}`,
    table([
      [
        'VERSION',
        'REQUESTS',
        'ERRORS',
        'PREDICTIONS',
        'P50 MS',
        'P95 MS',
        'P99 MS',
        'CONFIDENCE',
        'LABELS',
        'ACCURACY',
        'F1',
        'RMSE',
        'CAPTURED',
      ],
      ...versions.map(row),
      // One version's total is that version again.
      ...(versions.length === 1 ? [] : [row(r.total)]),
    ]),
  ].join('\n');
}

/** Feedback's answer for people: the counts, each label's fate, and what to do about unknown ones. */
export function renderFeedback(r: FeedbackSummary): string {
  const lines = [
    `joined ${r.joined}, duplicate ${r.duplicate} (the first label stands), unknown ${r.unknown}`,
    table([
      ['PREDICTION ID', 'STATUS', 'MODEL', 'VERSION'],
      ...r.results.map((x) => [x.predictionId, x.status, str(x.model), str(x.version)]),
    ]),
  ];
  if (r.unknown > 0)
    lines.push(
      'unknown: no captured prediction with that id yet. Captures land within about a second of the answer: send those again (the others come back as duplicate).',
    );
  return lines.join('\n');
}

function fields(record: unknown, keys: readonly string[]): string {
  const r = record as Json;
  return table(
    keys.map((k) => [k, typeof r[k] === 'object' && r[k] !== null ? JSON.stringify(r[k]) : str(r[k])]),
  );
}

/** The detailed health report for people: its status, each store and queue, each production artifact. */
export function renderHealth(r: Json): string {
  const probes = [...((r.stores as Json[]) ?? []), ...((r.queues as Json[]) ?? [])];
  const artifacts = (r.productionArtifacts as Json[]) ?? [];
  const lines = [
    `${r.status} (checked ${r.checkedAt})`,
    '',
    table([
      ['STORE', 'KIND', 'OK', 'LATENCY', 'DEPTH', 'ERROR'],
      ...probes.map((p) => [
        str(p.name),
        str(p.kind),
        p.ok ? 'ok' : 'FAIL',
        `${Math.round(Number(p.latencyMs))} ms`,
        str(p.depth),
        str(p.error),
      ]),
    ]),
    '',
  ];
  const from = r.artifactsFrom === 'recheck' ? 'hashed now' : 'as the integrity sweep last found them';
  if (artifacts.length === 0) {
    lines.push(
      probes.every((p) => p.ok)
        ? 'production artifacts: none (no model has a production version)'
        : 'production artifacts: not checked (a store or queue is unreachable)',
    );
    return lines.join('\n');
  }
  lines.push(
    `production artifacts, ${from}:`,
    table([
      ['MODEL', 'VERSION', 'OK', 'STATUS', 'LAST VERIFIED', 'ROLLBACK'],
      ...artifacts.map((a) => [
        str(a.model),
        str(a.version),
        a.ok ? 'ok' : a.stale ? 'STALE' : 'FAIL',
        str(a.status),
        str(a.lastVerifiedAt),
        a.ok
          ? '–'
          : a.suggestedRollback
            ? `serval rollback ${a.model} --to ${(a.suggestedRollback as Json & { body: Json }).body.toVersion}`
            : 'none can serve',
      ]),
    ]),
  );
  return lines.join('\n');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `k=v` pairs (repeatable options) as a record; a repeated key gives a list. */
export function pairs(list: readonly string[], what: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const p of list) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new CliError(`${what} ${p}: expected key=value`, 2);
    const [k, v] = [p.slice(0, eq), p.slice(eq + 1)];
    const prev = out[k];
    out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return out;
}

/** A JSON document from a file, or from stdin for `-`. */
export function readJsonArg(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      2,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file === '-' ? 'stdin' : file} is not valid JSON (${(err as Error).message})`, 2);
  }
}

/** An option's JSON: given inline, as @file, or - for stdin. */
export function jsonValue(value: string, what: string): unknown {
  if (value === '-') return readJsonArg('-');
  if (value.startsWith('@')) return readJsonArg(value.slice(1));
  try {
    return JSON.parse(value);
  } catch {
    throw new CliError(`${what} is not valid JSON`, 2);
  }
}

const VERSION_COLUMNS = [
  ['VERSION', (r: Json) => r.version],
  ['STAGE', (r: Json) => r.stage],
  ['STATUS', (r: Json) => r.status],
  ['SHA256', (r: Json) => String(r.sha256 ?? '').slice(0, 12)],
  ['CREATED', (r: Json) => r.createdAt],
  ['BY', (r: Json) => r.createdBy],
] as const;
const renderVersion = (v: unknown) =>
  fields(v, [
    'model',
    'version',
    'stage',
    'status',
    'framework',
    'sha256',
    'size',
    'metrics',
    'source',
    'approval',
  ]);

/** Progress on stderr, when a person watches it (a TTY) or SERVAL_PROGRESS=1 asks for it. */
function progress(label: string, total: number): (done: number) => void {
  const show = process.stderr.isTTY || process.env.SERVAL_PROGRESS === '1';
  let last = -1;
  return (done) => {
    if (!show) return;
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (pct === last) return;
    last = pct;
    const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
    process.stderr.write(`\r${label} [${bar}] ${String(pct).padStart(3)}% ${done}/${total} bytes`);
    if (done >= total) process.stderr.write('\n');
  };
}

/** SHA-256 of a file, streamed (a model may not fit in memory), with progress. */
export async function sha256File(file: string): Promise<{ sha256: string; size: number }> {
  const size = statSync(file).size;
  const hash = createHash('sha256');
  const tick = progress('hashing  ', size);
  let done = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    done += (chunk as Buffer).length;
    tick(done);
  }
  if (size === 0) tick(0);
  return { sha256: hash.digest('hex'), size };
}

interface Upload {
  url: string;
  method: string;
  headers: Record<string, string>;
}

/** PUTs a file (or bytes) to a presigned URL, streaming it with progress. */
async function putPresigned(
  upload: Upload,
  source: { file: string; size: number } | Uint8Array,
): Promise<void> {
  const size = source instanceof Uint8Array ? source.byteLength : source.size;
  const tick = progress('uploading', size);
  let done = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      tick(done);
      cb(null, chunk);
    },
  });
  const stream = (
    source instanceof Uint8Array ? Readable.from([Buffer.from(source)]) : createReadStream(source.file)
  ).pipe(counted);
  let res: Response;
  try {
    res = await fetch(upload.url, {
      method: upload.method,
      headers: { ...upload.headers, 'content-length': String(size) },
      body: Readable.toWeb(stream) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
  } catch (err) {
    throw new CliError(
      `the upload failed: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`,
    );
  }
  if (!res.ok) {
    throw new CliError(
      `the upload was refused: HTTP ${res.status} ${(await res.text()).trim().slice(0, 200)}`,
    );
  }
}

/** Register with upload:true, PUT the bytes, complete: the registry's upload flow. */
async function registerUpload(
  client: ApiClient,
  model: string,
  body: Json,
  source: { file: string } | { bytes: Uint8Array },
): Promise<unknown> {
  const digest =
    'file' in source
      ? await sha256File(source.file)
      : { sha256: createHash('sha256').update(source.bytes).digest('hex'), size: source.bytes.byteLength };
  const pending = (await call(
    client,
    'registerVersion',
    { name: model },
    {},
    {
      ...body,
      artifact: { upload: true },
      sha256: digest.sha256,
    },
  )) as { version: string; upload: Upload };
  await putPresigned(
    pending.upload,
    'file' in source ? { file: source.file, size: digest.size } : source.bytes,
  );
  return call(client, 'completeUpload', { name: model, version: pending.version }, {}, {});
}

/** Every file under a directory, by path relative to it (an MLflow model directory). */
async function readTree(dir: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch (err) {
    throw new CliError(
      `cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      2,
    );
  }
  for (const path of entries.sort())
    files.set(relative(dir, path).split('\\').join('/'), await readFile(path));
  return files;
}

interface RegisterOptions {
  file?: string;
  base64File?: string;
  version?: string;
  format?: string;
  inputSchema?: string;
  outputSchema?: string;
  metrics?: string;
  params?: string;
  description?: string;
  tag: string[];
  parent?: string;
  json?: boolean;
}

function registerBody(o: RegisterOptions): Json {
  const readArg = (v: string | undefined, what: string) => (v === undefined ? undefined : jsonValue(v, what));
  const tags = Object.fromEntries(o.tag.map((t) => t.split(/=(.*)/s).slice(0, 2)));
  const body: Json = {
    ...(o.version ? { version: o.version } : {}),
    ...(o.format ? { format: o.format } : {}),
    ...(o.inputSchema ? { inputSchema: readArg(o.inputSchema, '--input-schema') } : {}),
    ...(o.outputSchema ? { outputSchema: readArg(o.outputSchema, '--output-schema') } : {}),
    ...(o.metrics ? { metrics: readArg(o.metrics, '--metrics') } : {}),
    ...(o.params ? { params: readArg(o.params, '--params') } : {}),
    ...(o.description !== undefined ? { description: o.description } : {}),
    ...(o.parent ? { parent: o.parent } : {}),
    ...(o.tag.length > 0 ? { tags } : {}),
  };
  return body;
}

function withRegisterOptions(cmd: Command): Command {
  return cmd
    .option('--version <semver>', 'the version number (default: the next patch)')
    .option('--input-schema <json|@file>', 'inputSchema, as JSON or @file.json (default: from the model)')
    .option('--output-schema <json|@file>', 'outputSchema, as JSON or @file.json')
    .option('--metrics <json|@file>', 'metrics {name: number}')
    .option('--params <json|@file>', 'params {name: value}')
    .option('--description <text>', 'a description')
    .option('--parent <version>', 'the version this one was derived from')
    .option('--tag <key=value>', 'a tag (repeat)', collect, [])
    .option('--json', 'print the API response body');
}

export function platformCommands(): Command[] {
  const out: Command[] = [];

  // login
  out.push(
    new Command('login')
      .description(`save the API URL and key to a profile (mode 600); ${URL_ENV}/${KEY_ENV} override it`)
      .requiredOption('--url <url>', 'the API base URL (e.g. http://127.0.0.1:3000)')
      .option('--key <key>', `the API key (default: ${KEY_ENV}; - reads it from stdin)`)
      .action(
        apiAction('login', async (_c, opts: { url: string; key?: string }) => {
          const key = opts.key === '-' ? readFileSync(0, 'utf8').trim() : (opts.key ?? process.env[KEY_ENV]);
          if (!key) throw new CliError(`give --key, or set ${KEY_ENV}`, 2);
          // The key is checked before it is saved: a typo is found now, not at the next command.
          const client = apiClient({ ...process.env, [URL_ENV]: opts.url, [KEY_ENV]: key });
          const mode = (await call(client, 'getMode')) as { mode?: string };
          const path = writeProfile({ url: opts.url, apiKey: key });
          return `logged in to ${opts.url} (mode ${mode.mode ?? '?'}); profile saved to ${path}`;
        }),
      ),
  );

  // generic
  out.push(
    new Command('api')
      .description('any operation of the route table by its operationId (serval api --list shows them)')
      .argument('[operationId]', 'e.g. getBaseline, setAlias, compareVersions')
      .option('--list', 'list every operationId with its method, path and summary')
      .option('--param <k=v>', 'a path parameter (repeat)', collect, [])
      .option('--query <k=v>', 'a query parameter (repeat)', collect, [])
      .option('--body <file|->', 'the JSON request body, from a file or stdin (-)')
      .option('--json', 'print the API response body (always so)')
      .action(
        apiAction(
          'api',
          async (
            client,
            op: string | undefined,
            opts: { list?: boolean; param: string[]; query: string[]; body?: string },
          ) => {
            if (opts.list || !op) {
              return table([
                ['OPERATION', 'METHOD', 'PATH', 'ROLE', 'COMMAND'],
                ...ROUTES.map((r) => [
                  r.operationId,
                  r.method,
                  r.path,
                  r.role,
                  `serval ${COMMAND_OF[r.operationId]}`,
                ]),
              ]);
            }
            const { method, path } = requestOf(
              op,
              pairs(opts.param, '--param') as Record<string, string>,
              pairs(opts.query, '--query'),
            );
            const body =
              opts.body !== undefined ? readJsonArg(opts.body) : method === 'POST' ? {} : undefined;
            return client.request(method, path, body);
          },
        ),
      ),
  );

  out.push(
    new Command('health')
      .description(
        'liveness; --detailed: every store, queue depths and the integrity sweep (viewer), exit 1 when degraded',
      )
      .option('--detailed', 'the detailed report')
      .option(
        '--recheck',
        'with --detailed: hash every production artifact now, not the sweep (admin, once a minute)',
      )
      .option('--json', 'print the API response body')
      .action(
        apiAction(
          'health',
          async (client, opts: { detailed?: boolean; recheck?: boolean; json?: boolean }) => {
            if (opts.recheck && !opts.detailed) throw new CliError('--recheck goes with --detailed', 2);
            if (!opts.detailed) {
              const live = (await call(client, 'health')) as Json;
              return opts.json ? live : String(live.status);
            }
            const report = (await call(
              client,
              'healthDetailed',
              {},
              { recheck: opts.recheck ? 'true' : undefined },
            )) as Json;
            if (report.status !== 'ok') process.exitCode = 1;
            return opts.json ? report : renderHealth(report);
          },
        ),
      ),
  );

  // models
  const models = new Command('models').description('models of the registry');
  models
    .command('list')
    .description('models, filtered by --q and --tag key:value')
    .option('--q <text>', 'substring of the name or description')
    .option('--tag <key:value>', 'a tag that must match (repeat)', collect, [])
    .option('--limit <n>', 'at most n')
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'models list',
        async (client, o: { q?: string; tag: string[]; limit?: string; cursor?: string; json?: boolean }) => {
          const page = await call(
            client,
            'listModels',
            {},
            { q: o.q, tag: o.tag, limit: o.limit, cursor: o.cursor },
          );
          return o.json
            ? page
            : listTable(page, [
                ['NAME', (r) => r.name],
                ['PRODUCTION', (r) => r.productionVersion],
                ['LATEST', (r) => r.latestVersion],
                ['VERSIONS', (r) => r.versionCount],
                ['UPDATED', (r) => r.updatedAt],
                ['DESCRIPTION', (r) => clip(String(r.description ?? ''), 40)],
              ]);
        },
      ),
    );
  models
    .command('get')
    .argument('<name>')
    .description('a model: versions by stage, aliases, production')
    .option('--json', 'print the API response body')
    .action(
      apiAction('models get', async (client, name: string, o: { json?: boolean }) => {
        const m = await call(client, 'getModel', { name });
        return o.json
          ? m
          : fields(m, [
              'name',
              'description',
              'productionVersion',
              'latestVersion',
              'versionCount',
              'tags',
              'aliases',
              'versionsByStage',
            ]);
      }),
    );
  models
    .command('create')
    .argument('<name>')
    .description('create a model')
    .option('--description <text>', 'a description', '')
    .option('--tag <key=value>', 'a tag (repeat)', collect, [])
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'models create',
        async (client, name: string, o: { description: string; tag: string[]; json?: boolean }) => {
          const m = await call(
            client,
            'createModel',
            {},
            {},
            { name, description: o.description, tags: pairs(o.tag, '--tag') },
          );
          return o.json ? m : `created model ${name}`;
        },
      ),
    );
  models
    .command('update')
    .argument('<name>')
    .description('update description, tags, fallback and (admin) promotion gates')
    .requiredOption('--body <json|@file>', 'the PATCH body, e.g. {"description": "..."}')
    .option('--json', 'print the API response body')
    .action(
      apiAction('models update', async (client, name: string, o: { body: string; json?: boolean }) => {
        const body = jsonValue(o.body, '--body');
        const m = await call(client, 'updateModel', { name }, {}, body);
        return o.json ? m : `updated model ${name}`;
      }),
    );
  models
    .command('delete')
    .argument('<name>')
    .description('soft-delete a model (admin; refused while it has a production version)')
    .option('--json', 'print the API response body')
    .action(
      apiAction('models delete', async (client, name: string, o: { json?: boolean }) => {
        const r = await call(client, 'deleteModel', { name });
        return o.json ? r : `deleted model ${name}`;
      }),
    );
  out.push(models);

  // versions
  const versions = new Command('versions').description('versions of a model');
  versions
    .command('list')
    .argument('<model>')
    .option('--stage <stage>', 'only this stage')
    .option('--limit <n>', 'at most n')
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'versions list',
        async (
          client,
          name: string,
          o: { stage?: string; limit?: string; cursor?: string; json?: boolean },
        ) => {
          const page = await call(
            client,
            'listVersions',
            { name },
            { stage: o.stage, limit: o.limit, cursor: o.cursor },
          );
          return o.json ? page : listTable(page, VERSION_COLUMNS);
        },
      ),
    );
  for (const [name, op, verb] of [
    ['get', 'getVersion', 'one version'],
    ['verify', 'verifyArtifact', "recompute the stored artifact's SHA-256"],
    ['download-url', 'getArtifactUrl', 'a presigned download URL'],
    ['delete', 'deleteVersion', 'soft-delete a version (admin)'],
  ] as const) {
    versions
      .command(name)
      .argument('<model>')
      .argument('<version>')
      .description(verb)
      .option('--json', 'print the API response body')
      .action(
        apiAction(
          `versions ${name}`,
          async (client, model: string, version: string, o: { json?: boolean }) => {
            const r = await call(
              client,
              op,
              { name: model, version },
              {},
              op === 'verifyArtifact' ? {} : undefined,
            );
            if (o.json) return r;
            if (op === 'getVersion') return renderVersion(r);
            if (op === 'getArtifactUrl') return (r as { url: string }).url;
            if (op === 'deleteVersion') return `deleted ${model}@${version}`;
            return `ok: ${model}@${version} sha256 ${(r as { sha256: string }).sha256}`;
          },
        ),
      );
  }
  out.push(versions);

  // register
  out.push(
    withRegisterOptions(
      new Command('register')
        .description(
          'register a version: --file uploads through a presigned URL (SHA-256 streamed, progress)',
        )
        .argument('<model>')
        .option('--file <path>', 'the artifact (an .onnx file, or an archive with --format)')
        .option('--uri <s3uri>', 'import from S3 (see serval import)')
        .option('--format <format>', `onnx (default), ${IMPORT_FORMATS.slice(1).join(', ')}`),
    ).action(
      apiAction('register', async (client, model: string, o: RegisterOptions & { uri?: string }) => {
        const body = registerBody(o);
        if (!o.file === !o.uri) throw new CliError('give one of --file <path> or --uri s3://…', 2);
        const v = o.uri
          ? await call(client, 'registerVersion', { name: model }, {}, { ...body, artifact: { uri: o.uri } })
          : await registerUpload(client, model, body, { file: o.file! });
        return o.json
          ? v
          : `registered ${model}@${(v as Json).version} (${(v as Json).status}, sha256 ${(v as Json).sha256})`;
      }),
    ),
  );

  // import
  const imp = new Command('import').description('register a model trained elsewhere (docs/import.md)');
  withRegisterOptions(
    imp
      .command('mlflow')
      .description(
        'an MLflow model directory on this machine (MLmodel with the onnx flavor): packed and uploaded',
      )
      .argument('<dir>', 'the model directory, or the run directory holding artifacts/<model>/MLmodel')
      .requiredOption('--model <name>', 'the Serval model'),
  ).action(
    apiAction('import mlflow', async (client, dir: string, o: RegisterOptions & { model: string }) => {
      const files = await readTree(dir);
      if (![...files.keys()].some((p) => p === 'MLmodel' || p.endsWith('/MLmodel'))) {
        throw new CliError(`${dir} holds no MLmodel file: is it an MLflow model directory?`, 2);
      }
      const bytes = await writeTarGz(files);
      const v = await registerUpload(client, o.model, { ...registerBody(o), format: 'mlflow' }, { bytes });
      return o.json ? v : `imported ${o.model}@${(v as Json).version} from ${dir} (${(v as Json).status})`;
    }),
  );
  withRegisterOptions(
    imp
      .command('s3')
      .description('an object (or an MLflow directory ending in /) in S3, copied into Serval’s bucket')
      .argument('<uri>', 's3://bucket/key')
      .requiredOption('--model <name>', 'the Serval model')
      .option('--format <format>', `onnx (default), ${IMPORT_FORMATS.slice(1).join(', ')}`)
      .option('--sha256 <hex>', 'the expected SHA-256 of the object'),
  ).action(
    apiAction(
      'import s3',
      async (client, uri: string, o: RegisterOptions & { model: string; sha256?: string }) => {
        const v = await call(
          client,
          'registerVersion',
          { name: o.model },
          {},
          {
            ...registerBody(o),
            artifact: { uri },
            ...(o.sha256 ? { sha256: o.sha256 } : {}),
          },
        );
        return o.json ? v : `imported ${o.model}@${(v as Json).version} from ${uri} (${(v as Json).status})`;
      },
    ),
  );
  out.push(imp);

  // lifecycle
  for (const decision of ['approve', 'reject'] as const) {
    out.push(
      new Command(decision)
        .description(`${decision} a version for production (approver; never by its registrant)`)
        .argument('<model>')
        .argument('<version>')
        .option('--comment <text>', 'kept in the audit trail', '')
        .option('--json', 'print the API response body')
        .action(
          apiAction(
            decision,
            async (client, name: string, version: string, o: { comment: string; json?: boolean }) => {
              const v = await call(
                client,
                'decideApproval',
                { name, version },
                {},
                {
                  decision: decision === 'approve' ? 'approved' : 'rejected',
                  comment: o.comment,
                },
              );
              return o.json ? v : `${name}@${version}: ${decision === 'approve' ? 'approved' : 'rejected'}`;
            },
          ),
        ),
    );
  }
  const transition = (name: string, fixed?: string) => {
    const cmd = new Command(name)
      .description(
        fixed ? 'move a version to production (approver, after an approval)' : 'move a version to a stage',
      )
      .argument('<model>')
      .argument('<version>');
    if (!fixed) cmd.argument('<stage>', 'draft, testing, staging, production or archived');
    return cmd
      .option('--comment <text>', 'kept in the audit trail')
      .option('--json', 'print the API response body')
      .action(
        apiAction(name, async (client, model: string, version: string, ...rest: unknown[]) => {
          const stage = fixed ?? (rest[0] as string);
          const o = (fixed ? rest[0] : rest[1]) as { comment?: string; json?: boolean };
          const v = await call(
            client,
            'transitionVersion',
            { name: model, version },
            {},
            {
              stage,
              ...(o.comment !== undefined ? { comment: o.comment } : {}),
            },
          );
          return o.json ? v : `${model}@${version} is now ${(v as Json).stage}`;
        }),
      );
  };
  out.push(transition('transition'), transition('promote', 'production'));
  out.push(
    new Command('rollback')
      .description('re-promote the previous production version (or --to one that has been in production)')
      .argument('<model>')
      .option('--to <version>', 'the version to return to')
      .option('--comment <text>', 'kept in the audit trail')
      .option('--json', 'print the API response body')
      .action(
        apiAction(
          'rollback',
          async (client, name: string, o: { to?: string; comment?: string; json?: boolean }) => {
            const v = await call(
              client,
              'rollback',
              { name },
              {},
              {
                ...(o.to ? { toVersion: o.to } : {}),
                ...(o.comment !== undefined ? { comment: o.comment } : {}),
              },
            );
            return o.json ? v : `${name}: production is ${(v as Json).version}`;
          },
        ),
      ),
  );

  // serving
  out.push(
    new Command('predict')
      .description(
        'predict instances (production, or --version / --alias; a running experiment picks its variant)',
      )
      .argument('<model>')
      .option('--instances <json|@file|->', 'a JSON array of instances (rows or {feature: value})')
      .option('--version <version>', 'an explicit version')
      .option('--alias <alias>', 'an alias (champion, challenger, …)')
      .option(
        '--subject <id>',
        "sticky-assignment key of the model's running experiment: the same subject gets the same variant",
      )
      .option(
        '--context <json|@file|->',
        'captured with the predictions, never fed to the model (e.g. a group for fairness): an object, or an array with one per instance',
      )
      .option('--explain', "each prediction's exact attributions (linear and logistic models)")
      .option('--json', 'print the API response body')
      .action(
        apiAction(
          'predict',
          async (
            client,
            name: string,
            o: {
              instances?: string;
              version?: string;
              alias?: string;
              subject?: string;
              context?: string;
              explain?: boolean;
              json?: boolean;
            },
          ) => {
            if (!o.instances)
              throw new CliError("give --instances '[[1,2,3]]' (or @file.json, or - for stdin)", 2);
            const instances = jsonValue(o.instances, '--instances');
            const context = o.context === undefined ? undefined : jsonValue(o.context, '--context');
            const r = (await call(
              client,
              'predict',
              { name },
              {},
              {
                instances,
                ...(o.version ? { version: o.version } : {}),
                ...(o.alias ? { alias: o.alias } : {}),
                ...(o.subject ? { subject: o.subject } : {}),
                ...(context !== undefined ? { context } : {}),
                ...(o.explain ? { explain: true } : {}),
              },
            )) as PredictOutput;
            return o.json ? r : renderPrediction(r);
          },
        ),
      ),
  );
  out.push(
    new Command('feedback')
      .description('ground truth for served predictions: a JSON file of the feedback body')
      .requiredOption('--file <file|->', 'a JSON array [{"predictionId": "...", "actual": 1}, ...]')
      .option('--json', 'print the API response body')
      .action(
        apiAction('feedback', async (client, o: { file: string; json?: boolean }) => {
          const r = (await call(client, 'feedback', {}, {}, readJsonArg(o.file))) as FeedbackSummary;
          return o.json ? r : renderFeedback(r);
        }),
      ),
  );

  out.push(
    new Command('stats')
      .description(
        'serving statistics per version: requests, errors, latency, confidence, accuracy from feedback, capture completeness',
      )
      .argument('<model>')
      .option('--from <iso>', 'window start (default: 24 hours before --to)')
      .option('--to <iso>', 'window end (default: now)')
      .option('--version <version>', 'this version only')
      .option('--json', 'print the API response body')
      .action(
        apiAction(
          'stats',
          async (
            client,
            name: string,
            o: { from?: string; to?: string; version?: string; json?: boolean },
          ) => {
            const { json, ...query } = o;
            const r = (await call(client, 'stats', { name }, query)) as StatsReport & { model: string };
            return json ? r : renderStats(r);
          },
        ),
      ),
  );

  // system
  const mode = new Command('mode').description('the operating mode (serving, training, maintenance)');
  mode
    .command('get')
    .option('--json', 'print the API response body')
    .action(
      apiAction('mode get', async (client, o: { json?: boolean }) => {
        const m = (await call(client, 'getMode')) as Json;
        if (o.json) return m;
        // Revision 0 is the default, never set: its time and author are placeholders.
        const shown = m.revision === 0 ? { ...m, changedAt: 'never (the default)', changedBy: '' } : m;
        return fields(shown, Object.keys(m));
      }),
    );
  mode
    .command('set')
    .argument('<mode>', 'serving, training or maintenance')
    .option('--comment <text>', 'why (kept in the audit trail)')
    .option('--json', 'print the API response body')
    .action(
      apiAction('mode set', async (client, m: string, o: { reason?: string; json?: boolean }) => {
        const r = await call(
          client,
          'setMode',
          {},
          {},
          { mode: m, ...(o.reason ? { reason: o.reason } : {}) },
        );
        return o.json ? r : `mode: ${(r as Json).mode}`;
      }),
    );
  out.push(mode);
  out.push(
    new Command('audit')
      .description('audit events, newest first')
      .option('--model <name>', 'only this model')
      .option('--actor <id>', 'only this actor')
      .option('--since <iso>', 'at or after this time')
      .option('--limit <n>', 'at most n')
      .option('--cursor <cursor>', 'the next page')
      .option('--json', 'print the API response body')
      .action(
        apiAction('audit', async (client, o: Record<string, string | boolean | undefined>) => {
          const { json, ...q } = o;
          const page = await call(client, 'listAudit', {}, q as Record<string, string>);
          return json
            ? page
            : listTable(page, [
                ['AT', (r) => r.at],
                ['ACTION', (r) => r.action],
                ['ACTOR', (r) => r.actorName],
                // What --actor takes.
                ['ACTOR ID', (r) => r.actor],
                ['MODEL', (r) => r.model],
                ['VERSION', (r) => r.version],
              ]);
        }),
      ),
  );

  // keys, webhooks, alerts
  const keys = new Command('keys').description('API keys (admin)');
  keys
    .command('create')
    .description('create an API key: its secret is shown once')
    .requiredOption('--name <name>', 'a name')
    .requiredOption('--role <role>', 'viewer, predictor, scientist, approver or admin')
    .option('--expires-at <iso>', 'when the key stops working (default: never)')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'keys create',
        async (client, o: { name: string; role: string; expiresAt?: string; json?: boolean }) => {
          const r = (await call(
            client,
            'createKey',
            {},
            {},
            { name: o.name, role: o.role, ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}) },
          )) as ApiKeyView & { key: string };
          return o.json
            ? r
            : `created key ${r.keyId} (${r.role}${r.expiresAt ? `, expires ${r.expiresAt}` : ''}); shown once:\n${r.key}`;
        },
      ),
    );
  keys
    .command('list')
    .description('API keys: names, roles and status, never secrets')
    .option('--limit <n>', 'at most n')
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction('keys list', async (client, o: { limit?: string; cursor?: string; json?: boolean }) => {
        const page = await call(client, 'listKeys', {}, { limit: o.limit, cursor: o.cursor });
        return o.json
          ? page
          : listTable<ApiKeyView>(page, [
              ['KEY', (r) => r.keyId],
              ['NAME', (r) => r.name],
              ['ROLE', (r) => r.role],
              ['STATUS', (r) => r.status],
              ['CREATED', (r) => r.createdAt],
              ['EXPIRES', (r) => r.expiresAt],
              ['REVOKED', (r) => r.revokedAt],
            ]);
      }),
    );
  keys
    .command('revoke')
    .description('revoke a key: refused everywhere within the authorizer cache TTL (60 s by default)')
    .argument('<keyId>')
    .option('--json', 'print the API response body')
    .action(
      apiAction('keys revoke', async (client, keyId: string, o: { json?: boolean }) => {
        const r = await call(client, 'revokeKey', { keyId });
        return o.json ? r : `revoked ${keyId}`;
      }),
    );
  out.push(keys);

  const webhooks = new Command('webhooks').description(
    'HTTPS endpoints for alert and lifecycle events (admin)',
  );
  webhooks
    .command('create')
    .description('register an https:// receiver: its signing secret is shown once')
    .requiredOption('--url <url>', 'the https:// receiver')
    .option('--event <type>', 'alert, lifecycle or * (repeat; default *, every event)', collect, [])
    .option('--description <text>', 'what it is for')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'webhooks create',
        async (client, o: { url: string; event: string[]; description?: string; json?: boolean }) => {
          const r = (await call(
            client,
            'createWebhook',
            {},
            {},
            {
              url: o.url,
              ...(o.event.length ? { events: o.event } : {}),
              ...(o.description ? { description: o.description } : {}),
            },
          )) as WebhookView & { secret: string };
          return o.json ? r : `created webhook ${r.id}; signing secret (shown once): ${r.secret}`;
        },
      ),
    );
  webhooks
    .command('list')
    .description('registered receivers (never their secrets)')
    .option('--limit <n>', 'at most n')
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction('webhooks list', async (client, o: { limit?: string; cursor?: string; json?: boolean }) => {
        const page = await call(client, 'listWebhooks', {}, { limit: o.limit, cursor: o.cursor });
        return o.json
          ? page
          : listTable<WebhookView>(
              page,
              [
                ['ID', (r) => r.id],
                ['URL', (r) => r.url],
                ['EVENTS', (r) => r.events.join(',')],
                ['STATUS', (r) => r.status],
                ['CREATED', (r) => r.createdAt],
                ['DESCRIPTION', (r) => r.description],
              ],
              'no webhooks',
            );
      }),
    );
  webhooks
    .command('delete')
    .description('stop sending events to a receiver')
    .argument('<webhookId>')
    .option('--json', 'print the API response body')
    .action(
      apiAction('webhooks delete', async (client, webhookId: string, o: { json?: boolean }) => {
        const r = await call(client, 'deleteWebhook', { webhookId });
        return o.json ? r : `deleted webhook ${webhookId}`;
      }),
    );
  out.push(webhooks);

  const alerts = new Command('alerts').description('alerts (drift, integrity, experiments)');
  alerts
    .command('list')
    .description('alerts, newest first')
    .option('--model <name>', 'only this model')
    .option('--status <status>', 'open or acknowledged')
    .option('--limit <n>', 'at most n')
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'alerts list',
        async (
          client,
          o: { model?: string; status?: string; limit?: string; cursor?: string; json?: boolean },
        ) => {
          const { json, ...query } = o;
          const page = await call(client, 'listAlerts', {}, query);
          return json
            ? page
            : listTable<AlertRecord>(
                page,
                [
                  ['ID', (r) => r.id],
                  ['AT', (r) => r.createdAt],
                  // Alerts stored before kinds existed are drift alerts (AlertRecord.kind).
                  ['KIND', (r) => r.kind ?? 'drift'],
                  ['MODEL', (r) => r.model],
                  ['SEVERITY', (r) => r.severity],
                  ['STATUS', (r) => r.status],
                  ['TITLE', (r) => r.title],
                ],
                'no alerts',
              );
        },
      ),
    );
  alerts
    .command('ack')
    .description('acknowledge an alert: it stays listed, as acknowledged')
    .argument('<alertId>')
    .option('--comment <text>', 'a comment')
    .option('--json', 'print the API response body')
    .action(
      apiAction('alerts ack', async (client, alertId: string, o: { comment?: string; json?: boolean }) => {
        const r = await call(client, 'ackAlert', { alertId }, {}, o.comment ? { comment: o.comment } : {});
        return o.json ? r : `acknowledged ${alertId}`;
      }),
    );
  out.push(alerts);
  return out;
}

/** `serval drift check|reports`, added beside the statistics engine's `drift compare`. */
export function withDriftApiCommands(drift: Command): Command {
  drift
    .command('check')
    .description("run a drift check now over a window of the model's captured predictions (every version's)")
    .argument('<model>')
    .option('--from <iso>', 'start of the window of captured predictions (default: an hour before --to)')
    .option('--to <iso>', 'end of the window, at most 31 days after --from (default: now)')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'drift check',
        async (client, name: string, o: { from?: string; to?: string; json?: boolean }) => {
          // The API checks the times; only the defaults need one here.
          const to = o.to ?? new Date().toISOString();
          let from = o.from;
          if (from === undefined) {
            const end = Date.parse(to);
            if (Number.isNaN(end)) throw new CliError(`--to ${to} is not an ISO time`, 2);
            from = new Date(end - 3600_000).toISOString();
          }
          const body = { from, to };
          const r = (await call(client, 'checkDrift', { name }, {}, body)) as ReportRecord;
          return o.json ? r : renderDriftReport(r);
        },
      ),
    );
  drift
    .command('reports')
    .description('drift reports, the latest window first')
    .argument('<model>')
    .option('--limit <n>', 'at most n')
    .option('--cursor <cursor>', 'the next page')
    .option('--json', 'print the API response body')
    .action(
      apiAction(
        'drift reports',
        async (client, name: string, o: { limit?: string; cursor?: string; json?: boolean }) => {
          const page = await call(client, 'listDriftReports', { name }, { limit: o.limit, cursor: o.cursor });
          return o.json ? page : renderDriftReports(page);
        },
      ),
    );
  return drift;
}
