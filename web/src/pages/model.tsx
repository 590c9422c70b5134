/**
 * One model: versions by stage, metadata and lineage of a version, compare, register, validate,
 * approve/reject, stage moves, rollback and the audit trail. Buttons follow the signed-in role;
 * the server enforces roles regardless.
 */
import { useEffect, useState } from 'preact/hooks';
import { can, get, post, type Session } from '../api';
import { enc, navigate } from '../router';
import { type AuditEvent, MOVES, type Model, type Page, STAGES, type Stage, type Version } from '../types';
import {
  Empty,
  ErrorBox,
  fmt,
  Head,
  InputError,
  Loaded,
  Pager,
  useAction,
  useAsync,
  usePaged,
  when,
} from '../ui';
import { Retrain } from './jobs';

export function ModelPage({
  name,
  selected,
  session,
}: {
  name: string;
  selected?: string;
  session: Session;
}) {
  const model = useAsync(() => get<Model>(`/models/${enc(name)}`), [name]);
  const [changed, setChanged] = useState(0);
  const refresh = () => {
    model.reload();
    setChanged((c) => c + 1);
  };
  const select = (v: string) => navigate(`/models/${enc(name)}?version=${enc(v)}`);
  return (
    <section>
      <p class="crumbs">
        <a href="/">Models</a> / {name}
      </p>
      <h1 tabIndex={-1}>{name}</h1>
      <Loaded state={model}>
        {(m) => (
          <>
            <ModelSummary model={m} session={session} onChange={refresh} />
            <StageBoard model={m} selected={selected} onSelect={select} />
          </>
        )}
      </Loaded>
      {selected && (
        <VersionDetail
          key={selected}
          changed={changed}
          name={name}
          version={selected}
          session={session}
          onChange={refresh}
        />
      )}
      <VersionsTable name={name} selected={selected} onSelect={select} changed={changed} />
      <Compare name={name} />
      {can(session, 'scientist') && (
        <RegisterVersion
          name={name}
          onRegistered={(v) => {
            refresh();
            select(v);
          }}
        />
      )}
      <AuditTrail name={name} changed={changed} />
    </section>
  );
}

function ModelSummary({
  model: m,
  session,
  onChange,
}: {
  model: Model;
  session: Session;
  onChange: () => void;
}) {
  return (
    <div class="card">
      <p>{m.description || <span class="muted">No description.</span>}</p>
      <dl class="facts">
        <dt>Production</dt>
        <dd>{m.productionVersion ?? 'none'}</dd>
        <dt>Latest</dt>
        <dd>{m.latestVersion ?? '—'}</dd>
        <dt>Versions</dt>
        <dd>{m.versionCount}</dd>
        <dt>Validation required</dt>
        <dd>{m.requireValidation ? 'yes' : 'no'}</dd>
        <dt>Tags</dt>
        <dd>
          {Object.entries(m.tags).map(([k, v]) => (
            <span class="tag" key={k}>
              {k}:{v}
            </span>
          ))}
        </dd>
      </dl>
      <p class="actions">
        <a href={`/models/${enc(m.name)}/monitoring`}>Monitoring: drift and serving →</a>
        <a href={`/models/${enc(m.name)}/quality`}>Quality, performance and fairness →</a>
        <a href={`/experiments?model=${enc(m.name)}`}>Experiments →</a>
        <a href={`/jobs?model=${enc(m.name)}`}>Retraining jobs →</a>
      </p>
      {m.productionVersion && can(session, 'approver') && <Rollback name={m.name} onDone={onChange} />}
      {can(session, 'scientist') && <Retrain name={m.name} />}
    </div>
  );
}

function Rollback({ name, onDone }: { name: string; onDone: () => void }) {
  const [to, setTo] = useState('');
  const act = useAction();
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        return act.run(async () => {
          const r = await post<{ productionVersion?: string; version?: string }>(
            `/models/${enc(name)}/rollback`,
            {
              ...(to ? { toVersion: to } : {}),
              comment: 'rolled back from the dashboard',
            },
          );
          onDone();
          return `Production is now ${r.productionVersion ?? r.version ?? 'the previous version'}.`;
        });
      }}
    >
      <label for="rollback-to">Roll back to (empty: the previous production version)</label>
      <input
        id="rollback-to"
        value={to}
        placeholder="e.g. 1.0.0"
        onInput={(e) => setTo((e.target as HTMLInputElement).value)}
      />
      <button type="submit" class="danger" disabled={act.busy}>
        Roll back
      </button>
      {act.message && <span role="status">{act.message}</span>}
      {act.error !== undefined && <ErrorBox error={act.error} />}
    </form>
  );
}

function StageBoard({
  model,
  selected,
  onSelect,
}: {
  model: Model;
  selected?: string;
  onSelect: (v: string) => void;
}) {
  const by = model.versionsByStage;
  if (!by) return null;
  return (
    <section class="stages" aria-label="Versions by stage">
      {STAGES.map((s) => {
        const list = by[s] ?? [];
        return (
          <div class="stage" key={s}>
            <h2 class="h3">
              {s} <span class="muted">({list.length})</span>
            </h2>
            <ul>
              {list.slice(0, 20).map((v) => (
                <li key={v}>
                  <button
                    type="button"
                    class="link"
                    aria-current={v === selected}
                    onClick={() => onSelect(v)}
                  >
                    {v}
                  </button>
                </li>
              ))}
              {list.length > 20 && <li class="muted">and {list.length - 20} more in the table below</li>}
            </ul>
          </div>
        );
      })}
    </section>
  );
}

function VersionsTable(props: {
  name: string;
  selected?: string;
  onSelect: (v: string) => void;
  changed: number;
}) {
  const [stage, setStage] = useState<Stage | ''>('');
  const { state, page, next, prev } = usePaged(
    (cursor) => get<Page<Version>>(`/models/${enc(props.name)}/versions`, { cursor, limit: 25, stage }),
    [props.name, stage, props.changed],
  );
  return (
    <section class="card">
      <h2>Versions</h2>
      <div class="toolbar">
        <label for="stage-filter">Stage</label>
        <select
          id="stage-filter"
          value={stage}
          onChange={(e) => setStage((e.target as HTMLSelectElement).value as Stage)}
        >
          <option value="">all</option>
          {STAGES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <Loaded state={state}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty>
              No versions{stage ? ` in ${stage}` : ''}. Register one with the form below (scientist role).
            </Empty>
          ) : (
            <div class="scroll">
              <table>
                <Head columns={['Version', 'Stage', 'Status', 'Approval', 'Validation', 'Registered']} />
                <tbody>
                  {p.items.map((v) => (
                    <tr key={v.version} aria-selected={v.version === props.selected}>
                      <td>
                        <button type="button" class="link" onClick={() => props.onSelect(v.version)}>
                          {v.version}
                        </button>
                      </td>
                      <td>
                        <span class={`badge stage-${v.stage}`}>{v.stage}</span>
                      </td>
                      <td>{v.status}</td>
                      <td>{v.approval?.decision ?? '—'}</td>
                      <td>{v.validation ? (v.validation.passed ? 'passed' : 'failed') : '—'}</td>
                      <td>
                        {when(v.createdAt)} <span class="muted">by {v.createdBy}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <Pager label="Versions" page={page} next={next} prev={prev} />
    </section>
  );
}

/** Follows `parent` links for the lineage line (a few reads; lineages are short). */
async function lineageOf(name: string, v: Version): Promise<string[]> {
  const chain: string[] = [];
  let parent = v.parent;
  while (parent && chain.length < 10 && !chain.includes(parent)) {
    chain.push(parent);
    try {
      parent = (await get<Version>(`/models/${enc(name)}/versions/${enc(parent)}`)).parent;
    } catch {
      break;
    }
  }
  return chain;
}

function VersionDetail(props: {
  name: string;
  version: string;
  session: Session;
  changed: number;
  onChange: () => void;
}) {
  const { name, version, session } = props;
  const state = useAsync(async () => {
    const v = await get<Version>(`/models/${enc(name)}/versions/${enc(version)}`);
    return { v, lineage: await lineageOf(name, v) };
  }, [name, version, props.changed]);
  return (
    <section class="card" aria-labelledby="version-heading">
      <h2 id="version-heading">Version {version}</h2>
      <Loaded state={state}>
        {({ v, lineage }) => (
          <>
            <dl class="facts">
              <dt>Stage</dt>
              <dd>
                <span class={`badge stage-${v.stage}`}>{v.stage}</span> ({v.status})
              </dd>
              <dt>Framework</dt>
              <dd>
                {v.framework} on {v.runtime.type}
                {v.runtime.endpointName ? ` (${v.runtime.endpointName})` : ''}
              </dd>
              <dt>SHA-256</dt>
              <dd class="mono clip">{v.sha256}</dd>
              <dt>Registered</dt>
              <dd>
                {when(v.createdAt)} by {v.createdBy}
              </dd>
              <dt>Approval</dt>
              <dd>
                {v.approval
                  ? `${v.approval.decision} by ${v.approval.by} (${when(v.approval.at)})`
                  : 'none yet'}
              </dd>
              <dt>Validation</dt>
              <dd>
                {v.validation
                  ? `${v.validation.passed ? 'passed' : 'failed'} ${when(v.validation.ranAt)}`
                  : 'not run'}
              </dd>
              <dt>Lineage</dt>
              <dd>
                {lineage.length === 0
                  ? 'no parent'
                  : [v.version, ...lineage].map((x, i) => (
                      <span key={x}>
                        {i > 0 && ' ← '}
                        {i === 0 ? x : <a href={`/models/${enc(name)}?version=${enc(x)}`}>{x}</a>}
                      </span>
                    ))}
              </dd>
              <dt>Dataset</dt>
              <dd>
                {v.dataset
                  ? `${v.dataset.uri}${v.dataset.rows !== undefined ? `, ${v.dataset.rows} rows` : ''}${v.dataset.verified ? ', checksum verified' : ''}`
                  : 'none recorded'}
              </dd>
              <dt>Inputs</dt>
              <dd>
                {v.inputSchema ? v.inputSchema.features.map((f) => `${f.name} (${f.type})`).join(', ') : '—'}
              </dd>
              <dt>Outputs</dt>
              <dd>
                {v.outputSchema
                  ? `${v.outputSchema.kind}${v.outputSchema.classes ? `: ${v.outputSchema.classes.join(', ')}` : ''}`
                  : '—'}
              </dd>
              {v.unusableReason && (
                <>
                  <dt>Unusable</dt>
                  <dd class="bad">{v.unusableReason}</dd>
                </>
              )}
            </dl>
            {Object.keys(v.metrics).length > 0 && (
              <table class="compact" aria-label="Metrics">
                <tbody>
                  {Object.entries(v.metrics).map(([k, x]) => (
                    <tr key={k}>
                      <th scope="row">{k}</th>
                      <td>{fmt(x, 4)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <details>
              <summary>Parameters</summary>
              <pre>{JSON.stringify(v.params, null, 2)}</pre>
            </details>
            <Lifecycle v={v} session={session} onChange={props.onChange} />
            {can(session, 'scientist') && <Validate v={v} onDone={props.onChange} />}
          </>
        )}
      </Loaded>
    </section>
  );
}

function Lifecycle({ v, session, onChange }: { v: Version; session: Session; onChange: () => void }) {
  const [comment, setComment] = useState('');
  // Production needs the approver role; a scientist sees only the moves they may make.
  const stages = MOVES[v.stage].filter((s) => s !== 'production' || can(session, 'approver'));
  const [stage, setStage] = useState<Stage | undefined>(stages[0]);
  // After a move the choices change; start again from the first allowed one.
  useEffect(
    () => setStage(MOVES[v.stage].filter((s) => s !== 'production' || can(session, 'approver'))[0]),
    [v.stage],
  );
  const act = useAction();
  const base = `/models/${enc(v.model)}/versions/${enc(v.version)}`;
  const decide = (decision: 'approved' | 'rejected') =>
    act.run(async () => {
      await post(`${base}/approval`, { decision, comment });
      onChange();
      return `Version ${v.version} ${decision}.`;
    });
  if (!can(session, 'scientist')) {
    return (
      <p class="muted">
        Your role ({session.role}) can read this version; changes need a scientist or approver.
      </p>
    );
  }
  return (
    <div class="lifecycle">
      <h3>Lifecycle</h3>
      <label for="lifecycle-comment">Comment (kept in the audit trail)</label>
      <input
        id="lifecycle-comment"
        value={comment}
        onInput={(e) => setComment((e.target as HTMLInputElement).value)}
      />
      <div class="actions">
        {can(session, 'approver') && (
          <>
            <button type="button" disabled={act.busy} onClick={() => decide('approved')}>
              Approve
            </button>
            <button type="button" class="danger" disabled={act.busy} onClick={() => decide('rejected')}>
              Reject
            </button>
          </>
        )}
        <label for="move-stage">Move to</label>
        <select
          id="move-stage"
          value={stage}
          onChange={(e) => setStage((e.target as HTMLSelectElement).value as Stage)}
        >
          {stages.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button
          type="button"
          disabled={act.busy || !stage}
          onClick={() =>
            act.run(async () => {
              await post(`${base}/transition`, { stage, ...(comment ? { comment } : {}) });
              onChange();
              return `Version ${v.version} moved to ${stage}.`;
            })
          }
        >
          {stage === 'production' ? 'Promote' : 'Move'}
        </button>
      </div>
      {act.message && <p role="status">{act.message}</p>}
      {act.error !== undefined && <ErrorBox error={act.error} />}
    </div>
  );
}

/** CSV with a header row; the last column is the label, the others the version's features. */
function parseCsv(text: string): { instances: (number | string)[][]; labels: (number | string)[] } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const cell = (s: string) => {
    const t = s.trim();
    return t !== '' && !Number.isNaN(Number(t)) ? Number(t) : t;
  };
  const rows = lines.slice(1).map((l) => l.split(',').map(cell));
  return { instances: rows.map((r) => r.slice(0, -1)), labels: rows.map((r) => r[r.length - 1]!) };
}

interface ValidationReport {
  passed: boolean;
  rows: number;
  checks: { name: string; passed: boolean; skipped: boolean; message: string }[];
}

function Validate({ v, onDone }: { v: Version; onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [budget, setBudget] = useState('');
  const [report, setReport] = useState<ValidationReport>();
  const act = useAction();
  return (
    <form
      class="lifecycle"
      onSubmit={(e) => {
        e.preventDefault();
        if (!file) return;
        act.run(async () => {
          const dataset = parseCsv(await file.text());
          const r = await post<ValidationReport>(
            `/models/${enc(v.model)}/versions/${enc(v.version)}/validate`,
            {
              dataset,
              ...(budget ? { latencyBudgetMs: Number(budget) } : {}),
            },
          );
          setReport(r);
          onDone();
          return `Validation ${r.passed ? 'passed' : 'failed'} on ${r.rows} rows.`;
        });
      }}
    >
      <h3>Validate</h3>
      <label for="validation-file">Validation set (CSV with a header; the last column is the label)</label>
      <input
        id="validation-file"
        type="file"
        accept=".csv,text/csv"
        onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
      />
      <label for="latency-budget">p95 latency budget, ms (optional)</label>
      <input
        id="latency-budget"
        type="number"
        min="1"
        value={budget}
        onInput={(e) => setBudget((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={act.busy || !file}>
        Validate
      </button>
      {act.message && <p role="status">{act.message}</p>}
      {act.error !== undefined && <ErrorBox error={act.error} />}
      {report && (
        <ul class="checks">
          {report.checks.map((c) => (
            <li key={c.name} class={c.skipped ? 'muted' : c.passed ? 'ok' : 'bad'}>
              {c.name}: {c.skipped ? 'skipped' : c.passed ? 'passed' : 'failed'} — {c.message}
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** API Gateway takes 10 MB bodies; base64 grows a file by a third. */
const MAX_INLINE_BYTES = 7 * 1024 * 1024;

function RegisterVersion({ name, onRegistered }: { name: string; onRegistered: (version: string) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [version, setVersion] = useState('');
  const [parent, setParent] = useState('');
  const [description, setDescription] = useState('');
  const [metrics, setMetrics] = useState('');
  const act = useAction();
  return (
    <form
      class="card"
      aria-labelledby="register-heading"
      onSubmit={(e) => {
        e.preventDefault();
        act.run(async () => {
          // The button waits for a file; this only narrows the type.
          if (!file) throw new InputError('Choose the ONNX file to register first.');
          if (file.size > MAX_INLINE_BYTES) {
            throw new InputError(
              'This file is over 7 MB: register it with the CLI or a presigned upload (docs/registry.md).',
            );
          }
          let parsedMetrics: Record<string, number> | undefined;
          if (metrics.trim()) {
            try {
              parsedMetrics = JSON.parse(metrics) as Record<string, number>;
            } catch {
              throw new InputError('Metrics must be a JSON object of numbers, e.g. {"accuracy": 0.93}.');
            }
          }
          const bytes = new Uint8Array(await file.arrayBuffer());
          const v = await post<Version>(`/models/${enc(name)}/versions`, {
            artifact: { base64: toBase64(bytes) },
            ...(version ? { version } : {}),
            ...(parent ? { parent } : {}),
            ...(description ? { description } : {}),
            ...(parsedMetrics ? { metrics: parsedMetrics } : {}),
          });
          onRegistered(v.version);
          return `Registered ${name}@${v.version} (${v.stage}).`;
        });
      }}
    >
      <h2 id="register-heading">Register a version</h2>
      <div class="grid">
        <label for="reg-file">ONNX file</label>
        <input
          id="reg-file"
          type="file"
          accept=".onnx"
          onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
        />
        <label for="reg-version">Version (empty: next patch)</label>
        <input
          id="reg-version"
          value={version}
          placeholder="1.1.0"
          onInput={(e) => setVersion((e.target as HTMLInputElement).value)}
        />
        <label for="reg-parent">Parent version (lineage)</label>
        <input
          id="reg-parent"
          value={parent}
          onInput={(e) => setParent((e.target as HTMLInputElement).value)}
        />
        <label for="reg-description">Description</label>
        <input
          id="reg-description"
          value={description}
          onInput={(e) => setDescription((e.target as HTMLInputElement).value)}
        />
        <label for="reg-metrics">Metrics (JSON)</label>
        <input
          id="reg-metrics"
          value={metrics}
          placeholder='{"accuracy": 0.95}'
          onInput={(e) => setMetrics((e.target as HTMLInputElement).value)}
        />
      </div>
      <button type="submit" disabled={act.busy || !file}>
        Register
      </button>
      {act.message && <p role="status">{act.message}</p>}
      {act.error !== undefined && <ErrorBox error={act.error} />}
    </form>
  );
}

interface Comparison {
  metrics: Record<string, { a?: number; b?: number; delta?: number }>;
  params: {
    changed: Record<string, { a: unknown; b: unknown }>;
    added: Record<string, unknown>;
    removed: Record<string, unknown>;
  };
  schema: { addedFeatures: string[]; removedFeatures: string[]; outputChanged: boolean };
  lineage: { a: string[]; b: string[]; commonAncestor?: string };
}

function Compare({ name }: { name: string }) {
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [result, setResult] = useState<Comparison>();
  const act = useAction();
  return (
    <form
      class="card"
      aria-labelledby="compare-heading"
      onSubmit={(e) => {
        e.preventDefault();
        act.run(async () => {
          setResult(await get<Comparison>(`/models/${enc(name)}/compare`, { a, b }));
          return '';
        });
      }}
    >
      <h2 id="compare-heading">Compare two versions</h2>
      <div class="toolbar">
        <label for="cmp-a">Version A</label>
        <input
          id="cmp-a"
          value={a}
          required
          placeholder="1.0.0"
          onInput={(e) => setA((e.target as HTMLInputElement).value)}
        />
        <label for="cmp-b">Version B</label>
        <input
          id="cmp-b"
          value={b}
          required
          placeholder="1.1.0"
          onInput={(e) => setB((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={act.busy}>
          Compare
        </button>
      </div>
      {act.error !== undefined && <ErrorBox error={act.error} />}
      {result && (
        <>
          <table class="compact">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col">{a}</th>
                <th scope="col">{b}</th>
                <th scope="col">B − A</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(result.metrics).map(([k, m]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{fmt(m.a, 4)}</td>
                  <td>{fmt(m.b, 4)}</td>
                  <td>{fmt(m.delta, 4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            Parameters changed: {Object.keys(result.params.changed).join(', ') || 'none'}; added:{' '}
            {Object.keys(result.params.added).join(', ') || 'none'}; removed:{' '}
            {Object.keys(result.params.removed).join(', ') || 'none'}.
          </p>
          <p>
            Schema: {result.schema.addedFeatures.length} features added,{' '}
            {result.schema.removedFeatures.length} removed
            {result.schema.outputChanged ? ', output changed' : ''}. Common ancestor:{' '}
            {result.lineage.commonAncestor ?? 'none'}.
          </p>
        </>
      )}
    </form>
  );
}

function AuditTrail({ name, changed }: { name: string; changed: number }) {
  const { state, page, next, prev } = usePaged(
    (cursor) => get<Page<AuditEvent>>('/audit', { model: name, cursor, limit: 20 }),
    [name, changed],
  );
  return (
    <section class="card">
      <h2>Audit trail</h2>
      <Loaded state={state}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty>No audited changes yet.</Empty>
          ) : (
            <div class="scroll">
              <table class="audit">
                <Head columns={['When', 'Who', 'What', 'Target']} />
                <tbody>
                  {p.items.map((e) => (
                    <tr key={e.id}>
                      <td>{when(e.at)}</td>
                      <td>{e.actorName ?? e.actor}</td>
                      <td>
                        {e.action}
                        {e.comment ? <div class="muted">“{e.comment}”</div> : null}
                      </td>
                      <td class="mono">{e.target}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <Pager label="Audit" page={page} next={next} prev={prev} />
    </section>
  );
}
