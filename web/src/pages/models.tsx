/** Models: search, production version, artifact health and open alerts per model. */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { enc, navigate } from '../router';
import type { Alert, Model, Page } from '../types';
import { Empty, ErrorBox, Head, Loading, Pager, useAsync, usePaged } from '../ui';

interface Health {
  readonly status: string;
  readonly productionArtifacts: { model: string; version: string; ok: boolean }[];
}

export function ModelsPage({ q }: { q: string }) {
  const [text, setText] = useState(q);
  const { state, page, next, prev } = usePaged(
    (cursor) => get<Page<Model>>('/models', { q, cursor, limit: 50 }),
    [q],
  );
  // Health and open alerts are whole-platform reads; one each, not one per model row.
  const health = useAsync(() => get<Health>('/health/detailed'), []);
  const alerts = useAsync(() => get<Page<Alert>>('/alerts', { status: 'open', limit: 100 }), []);
  const openAlerts = new Map<string, number>();
  for (const a of alerts.data?.items ?? []) openAlerts.set(a.model, (openAlerts.get(a.model) ?? 0) + 1);
  const artifact = new Map((health.data?.productionArtifacts ?? []).map((a) => [a.model, a]));

  return (
    <section>
      <h1 tabIndex={-1}>Models</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(text ? `/?q=${enc(text)}` : '/');
        }}
      >
        <label for="model-search">Search models</label>
        <input
          id="model-search"
          type="search"
          value={text}
          placeholder="name or description"
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {health.data && health.data.status !== 'ok' && (
        <p class="warn" role="status">
          The platform reports it is degraded: see the health column and the alerts page.
        </p>
      )}
      {state.error !== undefined ? (
        <ErrorBox error={state.error} retry={state.reload} />
      ) : !state.data ? (
        <Loading />
      ) : state.data.items.length === 0 ? (
        <Empty>
          {q ? (
            <>No model matches “{q}”. Try part of a name or clear the search.</>
          ) : (
            <>
              No models yet. Create one with <code>POST /v1/models</code> (scientist role, see the API
              reference at <code>/v1/openapi.json</code>); <code>npm start</code> registers the demo model on
              a fresh data directory.
            </>
          )}
        </Empty>
      ) : (
        <>
          <div class="scroll">
            <table class="models" aria-busy={state.loading}>
              <Head columns={['Model', 'Production', 'Latest', 'Versions', 'Health', 'Open alerts']} />
              <tbody>
                {state.data.items.map((m) => {
                  const a = artifact.get(m.name);
                  const n = openAlerts.get(m.name) ?? 0;
                  return (
                    <tr key={m.name}>
                      <td>
                        <a href={`/models/${enc(m.name)}`}>{m.name}</a>
                        <div class="muted clip">{m.description}</div>
                      </td>
                      <td>{m.productionVersion ?? <span class="muted">none</span>}</td>
                      <td>{m.latestVersion ?? '—'}</td>
                      <td>{m.versionCount}</td>
                      <td>
                        {!m.productionVersion ? (
                          <span class="muted">not serving</span>
                        ) : !a ? (
                          <span class="muted">unknown</span>
                        ) : a.ok ? (
                          <span class="badge ok">artifact verified</span>
                        ) : (
                          <span class="badge bad">checksum failed</span>
                        )}
                      </td>
                      <td>
                        {n > 0 ? (
                          <a class="badge bad" href={`/alerts?model=${enc(m.name)}`}>
                            {n} open
                          </a>
                        ) : (
                          <span class="muted">0</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager label="Models" page={page} next={next} prev={prev} />
        </>
      )}
    </section>
  );
}
