/** Alerts, newest first, filtered by model and status; scientists and above acknowledge them. */
import { useState } from 'preact/hooks';
import { can, get, post, type Session } from '../api';
import { enc, navigate } from '../router';
import type { Alert, Page } from '../types';
import { Empty, ErrorBox, Loaded, Pager, useAction, usePaged, when } from '../ui';

export function AlertsPage({ model, status, session }: { model: string; status: string; session: Session }) {
  const [tick, setTick] = useState(0);
  const ack = useAction();
  const { state, page, next, prev } = usePaged(
    (cursor) => get<Page<Alert>>('/alerts', { model, status, cursor, limit: 25 }),
    [model, status, tick],
  );
  const filter = (m: string, s: string) => {
    const q = new URLSearchParams();
    if (m) q.set('model', m);
    if (s) q.set('status', s);
    navigate(`/alerts${q.size ? `?${q}` : ''}`);
  };
  return (
    <section>
      <h1 tabIndex={-1}>Alerts</h1>
      <div class="toolbar">
        <label for="alert-status">Status</label>
        <select
          id="alert-status"
          value={status}
          onChange={(e) => filter(model, (e.target as HTMLSelectElement).value)}
        >
          <option value="">all</option>
          <option value="open">open</option>
          <option value="acknowledged">acknowledged</option>
        </select>
        {model && (
          <button type="button" onClick={() => filter('', status)}>
            Show every model (now: {model})
          </button>
        )}
      </div>
      {ack.error !== undefined && <ErrorBox error={ack.error} />}
      <Loaded state={state}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty>
              No alerts{status ? ` with status ${status}` : ''}. Drift checks and rolled-back canaries raise
              them.
            </Empty>
          ) : (
            <ul class="alerts">
              {p.items.map((a) => (
                <li key={a.id} class={`alert sev-${a.severity}`}>
                  <div>
                    <strong>{a.title}</strong> <span class="badge">{a.severity}</span>{' '}
                    <span class="badge">{a.status}</span>
                  </div>
                  <div class="muted">
                    {when(a.createdAt)} · <a href={`/models/${enc(a.model)}/monitoring`}>{a.model}</a> ·{' '}
                    {a.kind}
                    {a.acknowledgedBy ? ` · acknowledged by ${a.acknowledgedBy}` : ''}
                  </div>
                  {a.recommendation && <p>{a.recommendation}</p>}
                  {a.status === 'open' && can(session, 'scientist') && (
                    <button
                      type="button"
                      aria-label={`Acknowledge: ${a.title}`}
                      disabled={ack.busy}
                      onClick={() =>
                        ack.run(async () => {
                          await post(`/alerts/${enc(a.id)}/ack`, {
                            comment: 'acknowledged from the dashboard',
                          });
                          setTick((x) => x + 1);
                        })
                      }
                    >
                      Acknowledge
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <Pager label="Alerts" page={page} next={next} prev={prev} />
    </section>
  );
}
