/**
 * Retraining jobs: the list (by model and state), one job with its log, cancel for scientists,
 * and the Retrain form the model page shows. Active jobs are re-read every 2 s until they end.
 */
import { useEffect, useState } from 'preact/hooks';
import { can, get, post, type Session } from '../api';
import { enc, navigate } from '../router';
import { JOB_STATES, type Job, type Page } from '../types';
import { Empty, ErrorBox, Head, Loaded, Pager, useAction, useAsync, usePaged, when } from '../ui';

const active = (j: Job) => j.state === 'queued' || j.state === 'running';

/** Re-runs `reload` every 2 s while `on` holds: job progress is written by the worker, not pushed. */
function usePoll(on: boolean, reload: () => void) {
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [on, reload]);
}

function Progress({ job }: { job: Job }) {
  const p = job.progress;
  return (
    <div class="progress">
      <progress max={1} value={p.fraction} aria-label={`Progress of job ${job.id}`} />
      <span>
        {Math.round(p.fraction * 100)} %{p.trials ? ` · trial ${p.trial}/${p.trials}` : ''}
        {p.message ? ` · ${p.message}` : ''}
      </span>
    </div>
  );
}

function CancelButton({ job, session, onDone }: { job: Job; session: Session; onDone: () => void }) {
  const cancel = useAction();
  if (!active(job) || !can(session, 'scientist')) return null;
  return (
    <>
      <button
        type="button"
        disabled={cancel.busy || job.cancelRequested}
        aria-label={`Cancel job ${job.id}`}
        onClick={() =>
          cancel.run(async () => {
            await post(`/jobs/${enc(job.id)}/cancel`);
            onDone();
          })
        }
      >
        {job.cancelRequested ? 'Cancel requested' : 'Cancel'}
      </button>
      {cancel.error !== undefined && <ErrorBox error={cancel.error} />}
    </>
  );
}

function stateClass(j: Job): string {
  return j.state === 'succeeded' ? 'badge ok' : j.state === 'failed' ? 'badge bad' : 'badge';
}

export function JobsPage({ model, state, session }: { model: string; state: string; session: Session }) {
  const paged = usePaged(
    (cursor) => get<Page<Job>>('/jobs', { model, state, cursor, limit: 25 }),
    [model, state],
  );
  usePoll(!!paged.state.data?.items.some(active), paged.state.reload);
  const filter = (m: string, s: string) => {
    const q = new URLSearchParams();
    if (m) q.set('model', m);
    if (s) q.set('state', s);
    navigate(`/jobs${q.size ? `?${q}` : ''}`);
  };
  const [modelInput, setModelInput] = useState(model);
  useEffect(() => setModelInput(model), [model]);
  return (
    <section>
      <h1 tabIndex={-1}>Retraining jobs</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          filter(modelInput.trim(), state);
        }}
      >
        <label for="jobs-model">Model</label>
        <input
          id="jobs-model"
          value={modelInput}
          placeholder="every model"
          onInput={(e) => setModelInput((e.target as HTMLInputElement).value)}
        />
        <label for="jobs-state">State</label>
        <select
          id="jobs-state"
          value={state}
          onChange={(e) => filter(model, (e.target as HTMLSelectElement).value)}
        >
          <option value="">all</option>
          {JOB_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="submit">Filter</button>
      </form>
      <Loaded state={paged.state}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty>
              No retraining jobs{model ? ` for ${model}` : ''}
              {state ? ` in state ${state}` : ''}. Start one with Retrain on a model's page (scientists and
              above).
            </Empty>
          ) : (
            <div class="scroll">
              <table>
                <Head columns={['Job', 'Model', 'State', 'Progress', 'Result', 'Requested', 'Actions']} />
                <tbody>
                  {p.items.map((j) => (
                    <tr key={j.id}>
                      <td>
                        <a href={`/jobs/${enc(j.id)}`} class="mono">
                          {j.id}
                        </a>
                      </td>
                      <td>
                        <a href={`/models/${enc(j.model)}`}>{j.model}</a>
                      </td>
                      <td>
                        <span class={stateClass(j)}>{j.state}</span>
                      </td>
                      <td>
                        <Progress job={j} />
                        {j.error && <span class="bad">{j.error}</span>}
                      </td>
                      <td>
                        {j.resultVersion ? (
                          <a href={`/models/${enc(j.model)}?version=${enc(j.resultVersion)}`}>
                            {j.resultVersion}
                          </a>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>
                        {when(j.createdAt)} by {j.requestedBy.name}: {j.reason}
                      </td>
                      <td>
                        <CancelButton job={j} session={session} onDone={paged.state.reload} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <Pager label="Jobs" page={paged.page} next={paged.next} prev={paged.prev} />
    </section>
  );
}

export function JobPage({ id, session }: { id: string; session: Session }) {
  const job = useAsync(() => get<Job>(`/jobs/${enc(id)}`), [id]);
  usePoll(!!job.data && active(job.data), job.reload);
  return (
    <section>
      <p class="crumbs">
        <a href="/jobs">Jobs</a> / {id}
      </p>
      <h1 tabIndex={-1}>Job {id}</h1>
      <Loaded state={job}>
        {(j) => (
          <>
            <div class="card">
              <dl class="facts">
                <dt>Model</dt>
                <dd>
                  <a href={`/models/${enc(j.model)}`}>{j.model}</a>
                </dd>
                <dt>State</dt>
                <dd>
                  <span class={stateClass(j)}>{j.state}</span>
                </dd>
                <dt>Progress</dt>
                <dd>
                  <Progress job={j} />
                </dd>
                <dt>Result version</dt>
                <dd>
                  {j.resultVersion ? (
                    <a href={`/models/${enc(j.model)}?version=${enc(j.resultVersion)}`}>{j.resultVersion}</a>
                  ) : (
                    '—'
                  )}
                </dd>
                <dt>Requested</dt>
                <dd>
                  {when(j.createdAt)} by {j.requestedBy.name} ({j.trigger}): {j.reason}
                </dd>
                {j.outcome && (
                  <>
                    <dt>Outcome</dt>
                    <dd>{j.outcome}</dd>
                  </>
                )}
                {j.error && (
                  <>
                    <dt>Error</dt>
                    <dd class="bad">{j.error}</dd>
                  </>
                )}
              </dl>
              <CancelButton job={j} session={session} onDone={job.reload} />
            </div>
            <section class="card" aria-labelledby="log-heading">
              <h2 id="log-heading">Log</h2>
              {j.log && j.log.length > 0 ? (
                <ol class="log mono">
                  {j.log.map((l, i) => (
                    <li key={`${l.at}-${i}`}>
                      <time dateTime={l.at}>{when(l.at)}</time> {l.message}
                    </li>
                  ))}
                </ol>
              ) : (
                <Empty>No log lines yet: the worker writes one per step once the job runs.</Empty>
              )}
            </section>
          </>
        )}
      </Loaded>
    </section>
  );
}

/** The model page's Retrain form (scientists and above). */
export function Retrain({ name }: { name: string }) {
  const [reason, setReason] = useState('');
  const retrain = useAction();
  const [queued, setQueued] = useState<Job>();
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        return retrain.run(async () => {
          setQueued(await post<Job>(`/models/${enc(name)}/retrain`, { reason: reason.trim() }));
          setReason('');
        });
      }}
    >
      <label for="retrain-reason">Retrain: reason (kept on the job and in the audit trail)</label>
      <input
        id="retrain-reason"
        required
        value={reason}
        placeholder="e.g. drift on petal_length"
        onInput={(e) => setReason((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={retrain.busy || !reason.trim()}>
        Retrain
      </button>
      {queued && (
        <span role="status">
          Job <a href={`/jobs/${enc(queued.id)}`}>{queued.id}</a> queued: the candidate will be registered in
          staging. <a href={`/jobs?model=${enc(name)}`}>Follow it on the Jobs page</a>.
        </span>
      )}
      {retrain.error !== undefined && <ErrorBox error={retrain.error} />}
    </form>
  );
}
