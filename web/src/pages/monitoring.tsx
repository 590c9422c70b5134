/**
 * Monitoring of one model: per-feature drift (the baseline's distribution, the statistic and
 * p-value of each check over time) and serving (latency percentiles, error rate, volume and
 * accuracy from feedback over time).
 */
import { useMemo, useState } from 'preact/hooks';
import { can, get, post, type Session } from '../api';
import { enc } from '../router';
import type { BaselineFeature, DriftReport, Page, ServingWindow, Stats } from '../types';
import { Chart, Empty, ErrorBox, fmt, Head, Loaded, useAction, useAsync, when } from '../ui';

export function MonitoringPage({ name, session }: { name: string; session: Session }) {
  return (
    <section>
      <p class="crumbs">
        <a href="/">Models</a> / <a href={`/models/${enc(name)}`}>{name}</a> / monitoring
      </p>
      <h1 tabIndex={-1}>Monitoring: {name}</h1>
      <Drift name={name} session={session} />
      <Serving name={name} />
    </section>
  );
}

const t = (iso: string) => Date.parse(iso) / 1000;

function Drift({ name, session }: { name: string; session: Session }) {
  const [tick, setTick] = useState(0);
  const reports = useAsync(
    () => get<Page<DriftReport>>(`/models/${enc(name)}/drift`, { limit: 100 }),
    [name, tick],
  );
  const baseline = useAsync(
    () =>
      get<{ features: BaselineFeature[]; version: string; rows: number }>(
        `/models/${enc(name)}/baseline`,
      ).catch(() => null),
    [name],
  );
  return (
    <section class="card" aria-labelledby="drift-heading">
      <h2 id="drift-heading">Drift</h2>
      {can(session, 'scientist') && <CheckNow name={name} onDone={() => setTick((x) => x + 1)} />}
      <Loaded state={reports}>
        {(page) => <DriftCharts reports={page.items} baseline={baseline.data?.features ?? null} />}
      </Loaded>
    </section>
  );
}

function CheckNow({ name, onDone }: { name: string; onDone: () => void }) {
  const [hours, setHours] = useState('24');
  const check = useAction();
  return (
    <form
      class="toolbar"
      onSubmit={(e) => {
        e.preventDefault();
        return check.run(async () => {
          const to = new Date(Date.now() + 60_000);
          const from = new Date(to.getTime() - Number(hours) * 3600_000);
          const r = await post<DriftReport>(`/models/${enc(name)}/drift/check`, {
            from: from.toISOString(),
            to: to.toISOString(),
          });
          onDone();
          return r.status === 'ok'
            ? `Checked ${r.rows} rows: ${r.datasetDrift ? 'drift' : 'no dataset drift'}.`
            : `Skipped: ${r.result.reason ?? r.status}`;
        });
      }}
    >
      <label for="drift-hours">Check the last</label>
      <select
        id="drift-hours"
        value={hours}
        onChange={(e) => setHours((e.target as HTMLSelectElement).value)}
      >
        <option value="1">hour</option>
        <option value="24">24 hours</option>
        <option value="168">7 days</option>
      </select>
      <button type="submit" disabled={check.busy}>
        Run a drift check now
      </button>
      {check.message && <span role="status">{check.message}</span>}
      {check.error !== undefined && <ErrorBox error={check.error} />}
    </form>
  );
}

/**
 * The baseline's distribution from its quantiles: the mass between two quantiles spread over
 * their interval (the API returns quantiles, not the sketch's bins).
 */
/** Labels of a drift histogram's bins: open-ended first and last, [a, b) between. */
function binLabels(edges: readonly number[]): string[] {
  const f = (v: number) => Number(v.toPrecision(3)).toString();
  return [
    `< ${f(edges[0]!)}`,
    ...edges.slice(1).map((e, i) => `${f(edges[i]!)}–${f(e)}`),
    `≥ ${f(edges[edges.length - 1]!)}`,
  ];
}

function quantileDensity(f: BaselineFeature): { x: number[]; y: number[] } | null {
  const q = f.summary.quantiles;
  if (!q || f.summary.min == null || f.summary.max == null) return null;
  const points: [number, number][] = [
    [0, f.summary.min],
    ...Object.entries(q).map(([k, v]): [number, number] => [Number(k.slice(1)) / 100, v]),
    [1, f.summary.max],
  ];
  points.sort((a, b) => a[0] - b[0]);
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const [p0, v0] = points[i - 1]!;
    const [p1, v1] = points[i]!;
    if (v1 <= v0) continue;
    x.push((v0 + v1) / 2);
    y.push((p1 - p0) / (v1 - v0));
  }
  return x.length ? { x, y } : null;
}

function DriftCharts({ reports, baseline }: { reports: DriftReport[]; baseline: BaselineFeature[] | null }) {
  const checked = useMemo(() => reports.filter((r) => r.result.report).reverse(), [reports]);
  if (reports.length === 0) {
    return (
      <Empty>
        No drift checks yet. A check needs a baseline (<code>PUT /v1/models/…/baseline</code>) and captured
        predictions; run one with the button above or wait for the scheduled sweep.
      </Empty>
    );
  }
  const latest = checked[checked.length - 1];
  const features = latest?.result.report?.features ?? [];
  const x = checked.map((r) => t(r.window.to));
  return (
    <>
      <p>
        Latest check {when(reports[0]!.createdAt)}: {reports[0]!.status}, {reports[0]!.rows} rows
        {reports[0]!.status === 'ok'
          ? `, severity ${reports[0]!.severity}`
          : ` (${reports[0]!.result.reason ?? ''})`}
        .
      </p>
      {latest?.result.report && <p class="advice">{latest.result.report.recommendation}</p>}
      {features.length > 0 && (
        <table class="compact">
          <Head columns={['Feature', 'Test', 'Statistic', 'p-value', 'Threshold', 'Drifted']} />
          <tbody>
            {features.map((f) => (
              <tr key={f.name}>
                <th scope="row">{f.name}</th>
                <td>{f.test}</td>
                <td>{fmt(f.statistic)}</td>
                <td>{fmt(f.pValue)}</td>
                <td>{fmt(f.threshold)}</td>
                <td class={f.drifted ? 'bad' : 'ok'}>{f.drifted ? `yes (${f.severity})` : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="charts">
        {features.map((f) => {
          const stat = checked.map(
            (r) => r.result.report?.features.find((g) => g.name === f.name)?.statistic ?? null,
          );
          const p = checked.map(
            (r) => r.result.report?.features.find((g) => g.name === f.name)?.pValue ?? null,
          );
          const base = baseline?.find((b) => b.name === f.name);
          const dens = base && !f.histogram ? quantileDensity(base) : null;
          const h = f.histogram;
          return (
            <div class="feature" key={f.name}>
              <h3>{f.name}</h3>
              {h && (
                <Chart
                  title={`${f.name}: baseline vs latest window (share of rows)`}
                  x={(h.kind === 'numerical' ? h.baseline : h.categories).map((_, i) => i)}
                  time={false}
                  categories={h.kind === 'numerical' ? binLabels(h.edges) : h.categories}
                  series={[
                    { label: 'baseline', values: h.baseline, color: '#2563eb', bars: true },
                    { label: 'latest window', values: h.current, color: '#ea580c', bars: true },
                  ]}
                />
              )}
              {dens && (
                <Chart
                  title={`${f.name}: baseline density`}
                  x={dens.x}
                  time={false}
                  series={[{ label: 'baseline', values: dens.y, color: '#2563eb', bars: true }]}
                />
              )}
              <Chart
                title={`${f.name}: ${f.test} statistic over time`}
                x={x}
                series={[{ label: 'statistic', values: stat, color: '#9333ea' }]}
              />
              <Chart
                title={`${f.name}: −log10 p-value over time (above the threshold line: drift)`}
                x={x}
                series={[
                  {
                    label: '−log10 p',
                    values: p.map((v) => (v === null ? null : -Math.log10(Math.max(v, 1e-300)))),
                    color: '#dc2626',
                  },
                  {
                    label: 'threshold',
                    values: checked.map(() => -Math.log10(f.threshold)),
                    color: '#64748b',
                  },
                ]}
              />
            </div>
          );
        })}
      </div>
    </>
  );
}

const RANGES = { '6h': 6, '24h': 24, '7d': 168 } as const;
const BUCKETS = 12;

function accuracyOf(w: ServingWindow): number | null {
  return w.feedback?.classification?.accuracy ?? null;
}

/**
 * Serving over time: the stats route answers for one window, so the range is read as twelve
 * consecutive windows (hourly aggregates on AWS: a bucket is at least an hour there).
 */
function Serving({ name }: { name: string }) {
  const [range, setRange] = useState<keyof typeof RANGES>('24h');
  const state = useAsync(async () => {
    const end = Math.ceil(Date.now() / 3600_000) * 3600_000;
    const step = (RANGES[range] * 3600_000) / BUCKETS;
    const windows = Array.from(
      { length: BUCKETS },
      (_, i) => [end - (BUCKETS - i) * step, end - (BUCKETS - i - 1) * step] as const,
    );
    return Promise.all(
      windows.map(async ([from, to]) => ({
        at: to / 1000,
        stats: await get<Stats>(`/models/${enc(name)}/stats`, {
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
        }),
      })),
    );
  }, [name, range]);
  return (
    <section class="card" aria-labelledby="serving-heading">
      <h2 id="serving-heading">Serving</h2>
      <div class="toolbar">
        <label for="serving-range">Range</label>
        <select
          id="serving-range"
          value={range}
          onChange={(e) => setRange((e.target as HTMLSelectElement).value as keyof typeof RANGES)}
        >
          {Object.keys(RANGES).map((r) => (
            <option key={r} value={r}>
              last {r}
            </option>
          ))}
        </select>
      </div>
      <Loaded state={state}>
        {(rows) => {
          const x = rows.map((r) => r.at);
          const w = rows.map((r) => r.stats.total);
          const total = w.reduce((s, r) => s + r.requests, 0);
          if (total === 0) {
            return (
              <Empty>
                No predictions in this range. Send some with POST /v1/models/{name}/predict, then reload.
              </Empty>
            );
          }
          return (
            <div class="charts">
              <Chart
                title="Latency (ms)"
                x={x}
                series={[
                  { label: 'p50', values: w.map((r) => r.latencyMs?.p50 ?? null), color: '#16a34a' },
                  { label: 'p95', values: w.map((r) => r.latencyMs?.p95 ?? null), color: '#ca8a04' },
                  { label: 'p99', values: w.map((r) => r.latencyMs?.p99 ?? null), color: '#dc2626' },
                ]}
              />
              <Chart
                title="Requests"
                x={x}
                series={[
                  { label: 'requests', values: w.map((r) => r.requests), color: '#2563eb', bars: true },
                ]}
              />
              <Chart
                title="Error rate"
                x={x}
                series={[{ label: 'error rate', values: w.map((r) => r.errorRate), color: '#dc2626' }]}
              />
              <Chart
                title="Accuracy from feedback"
                x={x}
                series={[{ label: 'accuracy', values: w.map(accuracyOf), color: '#9333ea' }]}
              />
            </div>
          );
        }}
      </Loaded>
    </section>
  );
}
