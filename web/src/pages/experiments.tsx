/** Experiments: the list, and one experiment's results with its p-values and effects over time. */
import { get } from '../api';
import { enc, navigate } from '../router';
import type { Page } from '../types';
import { Chart, Empty, fmt, Head, Loaded, Pager, useAsync, usePaged, when } from '../ui';

interface Experiment {
  id: string;
  name: string;
  model: string;
  kind: string;
  state: string;
  createdAt: string;
  variants: { name: string; version: string }[];
  weights?: Record<string, number>;
  outcome?: { result: string; variant?: string; promotedVersion?: string; reason: string } | null;
}

interface Results {
  computedAt: string;
  metric?: { name?: string } | string;
  variants: {
    name: string;
    version: string;
    control: boolean;
    weight: number;
    exposures: number;
    metric: { n: number; mean: number | null; ci?: [number, number] | null };
    serving?: { requests: number; errorRate: number | null; latencyP99Ms: number | null };
  }[];
  comparisons: {
    variant: string;
    diff: number | null;
    lift: number | null;
    ci?: [number, number] | null;
    pValue: number | null;
    alwaysValidPValue: number | null;
    adjustedPValue: number | null;
    significant: boolean;
  }[];
  srm?: { pValue: number | null; ok: boolean } | null;
  decision: string;
  winner?: string | null;
  reason?: string;
}

const STATES = ['', 'draft', 'running', 'paused', 'concluded'];

export function ExperimentsPage({ model, state: st }: { model: string; state: string }) {
  const { state, page, next, prev } = usePaged(
    (cursor) => get<Page<Experiment>>('/experiments', { model, state: st, cursor, limit: 25 }),
    [model, st],
  );
  const filter = (m: string, s: string) => {
    const q = new URLSearchParams();
    if (m) q.set('model', m);
    if (s) q.set('state', s);
    navigate(`/experiments${q.size ? `?${q}` : ''}`);
  };
  return (
    <section>
      <h1 tabIndex={-1}>Experiments</h1>
      <div class="toolbar">
        <label for="exp-state">State</label>
        <select
          id="exp-state"
          value={st}
          onChange={(e) => filter(model, (e.target as HTMLSelectElement).value)}
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s || 'all'}
            </option>
          ))}
        </select>
        {model && (
          <button type="button" onClick={() => filter('', st)}>
            Show every model (now: {model})
          </button>
        )}
      </div>
      <Loaded state={state}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty>
              No experiments{model ? ` for ${model}` : ''}. Create an A/B, canary or shadow run with{' '}
              <code>npx serval experiments create</code> or <code>POST /v1/experiments</code>{' '}
              (docs/experiments.md).
            </Empty>
          ) : (
            <div class="scroll">
              <table>
                <Head columns={['Experiment', 'Model', 'Kind', 'State', 'Variants', 'Created']} />
                <tbody>
                  {p.items.map((x) => (
                    <tr key={x.id}>
                      <td>
                        <a href={`/experiments/${enc(x.id)}`}>{x.name}</a>
                      </td>
                      <td>{x.model}</td>
                      <td>{x.kind}</td>
                      <td>{x.state}</td>
                      <td>{x.variants.map((v) => `${v.name} (${v.version})`).join(', ')}</td>
                      <td>{when(x.createdAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
      <Pager label="Experiments" page={page} next={next} prev={prev} />
    </section>
  );
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#ca8a04', '#9333ea', '#0891b2'];

export function ExperimentPage({ id }: { id: string }) {
  const exp = useAsync(() => get<Experiment>(`/experiments/${enc(id)}`), [id]);
  const results = useAsync(() => get<Results>(`/experiments/${enc(id)}/results`), [id]);
  const history = useAsync(
    () => get<Page<{ results: Results }>>(`/experiments/${enc(id)}/history`, { limit: 100 }),
    [id],
  );
  return (
    <section>
      <p class="crumbs">
        <a href="/experiments">Experiments</a> / {id}
      </p>
      <Loaded state={exp}>
        {(x) => (
          <>
            <h1 tabIndex={-1}>{x.name}</h1>
            <p>
              {x.kind} on <a href={`/models/${enc(x.model)}`}>{x.model}</a>, {x.state}
              {x.outcome
                ? `, outcome ${x.outcome.result}${x.outcome.variant ? ` (${x.outcome.variant})` : ''}`
                : ''}
              {x.outcome?.reason ? ` (${x.outcome.reason})` : ''}.
            </p>
          </>
        )}
      </Loaded>
      <section class="card" aria-labelledby="results-heading">
        <h2 id="results-heading">Results</h2>
        <Loaded state={results}>{(r) => <ResultsView r={r} />}</Loaded>
      </section>
      <section class="card" aria-labelledby="history-heading">
        <h2 id="history-heading">Over time</h2>
        <Loaded state={history}>
          {(h) =>
            h.items.length === 0 ? (
              <Empty>
                No snapshots yet: the scheduled analysis keeps one a minute while the experiment runs.
              </Empty>
            ) : (
              <HistoryCharts items={h.items.map((s) => s.results)} />
            )
          }
        </Loaded>
      </section>
    </section>
  );
}

function ResultsView({ r }: { r: Results }) {
  return (
    <>
      <p>
        Decision: <strong>{r.decision}</strong>
        {r.winner ? `, winner ${r.winner}` : ''}
        {r.reason ? ` — ${r.reason}` : ''}. Computed {when(r.computedAt)}.
      </p>
      {r.srm && (
        <p class={r.srm.ok ? '' : 'bad'}>
          Sample-ratio check: {r.srm.ok ? 'ok' : 'MISMATCH — read nothing else until it is explained'} (p ={' '}
          {fmt(r.srm.pValue)}).
        </p>
      )}
      <div class="scroll">
        <table class="compact">
          <Head
            columns={[
              'Variant',
              'Version',
              'Weight',
              'Exposures',
              'n',
              'Mean',
              '95% CI',
              'Requests',
              'p99 ms',
            ]}
          />
          <tbody>
            {r.variants.map((v) => (
              <tr key={v.name}>
                <th scope="row">
                  {v.name}
                  {v.control ? ' (control)' : ''}
                </th>
                <td>{v.version}</td>
                <td>{v.weight}%</td>
                <td>{v.exposures}</td>
                <td>{v.metric.n}</td>
                <td>{fmt(v.metric.mean, 4)}</td>
                <td>{v.metric.ci ? `${fmt(v.metric.ci[0], 4)} … ${fmt(v.metric.ci[1], 4)}` : '—'}</td>
                <td>{v.serving?.requests ?? '—'}</td>
                <td>{fmt(v.serving?.latencyP99Ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {r.comparisons.length > 0 && (
        <div class="scroll">
          <table class="compact">
            <Head
              columns={[
                'Treatment',
                'Diff',
                'Lift',
                'CI of diff',
                'p (fixed)',
                'p (always valid)',
                'p (adjusted)',
                'Significant',
              ]}
            />
            <tbody>
              {r.comparisons.map((c) => (
                <tr key={c.variant}>
                  <th scope="row">{c.variant}</th>
                  <td>{fmt(c.diff, 4)}</td>
                  <td>{c.lift === null ? '—' : `${fmt(c.lift * 100, 2)}%`}</td>
                  <td>{c.ci ? `${fmt(c.ci[0], 4)} … ${fmt(c.ci[1], 4)}` : '—'}</td>
                  <td>{fmt(c.pValue)}</td>
                  <td>{fmt(c.alwaysValidPValue)}</td>
                  <td>{fmt(c.adjustedPValue)}</td>
                  <td>{c.significant ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function HistoryCharts({ items }: { items: Results[] }) {
  const x = items.map((r) => Date.parse(r.computedAt) / 1000);
  const names = items[items.length - 1]!.variants.map((v) => v.name);
  const treatments = [...new Set(items.flatMap((r) => r.comparisons.map((c) => c.variant)))];
  return (
    <div class="charts">
      <Chart
        title="Primary metric mean per variant"
        x={x}
        series={names.map((n, i) => ({
          label: n,
          values: items.map((r) => r.variants.find((v) => v.name === n)?.metric.mean ?? null),
          color: COLORS[i % COLORS.length]!,
        }))}
      />
      {treatments.length > 0 && (
        <Chart
          title="Always-valid p-value (adjusted) per treatment"
          x={x}
          series={treatments.map((n, i) => ({
            label: n,
            values: items.map((r) => r.comparisons.find((c) => c.variant === n)?.adjustedPValue ?? null),
            color: COLORS[(i + 1) % COLORS.length]!,
          }))}
        />
      )}
    </div>
  );
}
