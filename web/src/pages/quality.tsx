/**
 * Quality of one model: data-quality reports per checked window, performance from ground truth
 * (labels sent as feedback), and group fairness of served decisions by a context attribute.
 */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { enc } from '../router';
import type { Estimate, Fairness, Page, Performance, QualityReport } from '../types';
import { Empty, ErrorBox, fmt, Head, Loaded, Pager, useAction, useAsync, usePaged, when } from '../ui';

export function QualityPage({ name }: { name: string }) {
  return (
    <section>
      <p class="crumbs">
        <a href="/">Models</a> / <a href={`/models/${enc(name)}`}>{name}</a> / quality
      </p>
      <h1 tabIndex={-1}>Quality: {name}</h1>
      <p class="actions">
        <a href={`/models/${enc(name)}/monitoring`}>Monitoring: drift and serving →</a>
      </p>
      <DataQuality name={name} />
      <PerformanceCard name={name} />
      <FairnessCard name={name} />
    </section>
  );
}

function DataQuality({ name }: { name: string }) {
  const { state, page, next, prev } = usePaged(
    (cursor) => get<Page<QualityReport>>(`/models/${enc(name)}/quality`, { cursor, limit: 10 }),
    [name],
  );
  return (
    <section class="card" aria-labelledby="quality-heading">
      <h2 id="quality-heading">Data quality</h2>
      <Loaded state={state}>
        {(p) =>
          p.items.length === 0 ? (
            <Empty>
              No quality reports yet. Every drift check writes one: run a check from the{' '}
              <a href={`/models/${enc(name)}/monitoring`}>monitoring page</a> or wait for the scheduled sweep.
            </Empty>
          ) : (
            <ul class="reports">
              {p.items.map((r) => (
                <li key={r.id} class="report">
                  <h3 class="h3">
                    {when(r.window.from)} – {when(r.window.to)}
                  </h3>
                  <p>
                    <span class="badge">{r.status}</span> {r.rows} rows
                    {r.report?.malformedRows ? `, ${r.report.malformedRows} malformed` : ''} ·{' '}
                    <span class={r.violationCount ? 'bad' : 'ok'}>
                      {r.violationCount} violation{r.violationCount === 1 ? '' : 's'}
                    </span>
                    {r.violationCount ? ` (severity ${r.severity})` : ''} · baseline {r.baselineVersion} ·{' '}
                    {r.trigger} · volume {r.volume?.status ?? '—'}
                    {r.volume?.check?.anomaly
                      ? ` (${r.volume.check.anomaly}: ${r.volume.check.reason ?? ''})`
                      : ''}
                  </p>
                  {r.report && r.report.violations.length > 0 && (
                    <div class="scroll">
                      <table class="compact">
                        <Head columns={['Check', 'Feature', 'Observed', 'Threshold', 'Message']} />
                        <tbody>
                          {r.report.violations.map((v, i) => (
                            <tr key={`${v.check}-${v.feature ?? ''}-${i}`}>
                              <td>{v.check}</td>
                              <td>{v.feature ?? '—'}</td>
                              <td>{fmt(v.observed)}</td>
                              <td>{fmt(v.threshold)}</td>
                              <td>{v.message}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <Pager label="Quality reports" page={page} next={next} prev={prev} />
    </section>
  );
}

const WINDOWS = { '24h': 24, '7d': 168, '31d': 744 } as const;

function PerformanceCard({ name }: { name: string }) {
  const [range, setRange] = useState<keyof typeof WINDOWS>('24h');
  const state = useAsync(() => {
    const to = new Date();
    const from = new Date(to.getTime() - WINDOWS[range] * 3600_000);
    return get<Performance>(`/models/${enc(name)}/performance`, {
      from: from.toISOString(),
      to: to.toISOString(),
    });
  }, [name, range]);
  return (
    <section class="card" aria-labelledby="performance-heading">
      <h2 id="performance-heading">Performance from labels</h2>
      <div class="toolbar">
        <label for="performance-range">Predictions of the last</label>
        <select
          id="performance-range"
          value={range}
          onChange={(e) => setRange((e.target as HTMLSelectElement).value as keyof typeof WINDOWS)}
        >
          {Object.keys(WINDOWS).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </div>
      <Loaded state={state}>{(p) => <PerformanceView p={p} />}</Loaded>
    </section>
  );
}

function PerformanceView({ p }: { p: Performance }) {
  const cov = p.labelCoverage;
  const head = (
    <p>
      Version {p.version}: {p.rows} labelled prediction{p.rows === 1 ? '' : 's'}
      {cov
        ? ` of ${cov.predictions} served (label coverage ${cov.share === null ? '—' : fmt(cov.share)})`
        : ''}
      {p.truncated ? `; only the oldest ${p.maxRows} are counted, narrow the window` : ''}
      {p.unreadableLabels ? `; ${p.unreadableLabels} labels could not be read` : ''}.
    </p>
  );
  if (p.rows === 0) {
    return (
      <>
        {head}
        <Empty>
          No labels for this window's predictions. Send ground truth with <code>POST /v1/feedback</code> (the
          prediction id and its label); late labels count in their prediction's window.
        </Empty>
      </>
    );
  }
  const c = p.classification;
  const r = p.regression;
  return (
    <>
      {head}
      {c && (
        <>
          <dl class="facts">
            <dt>Accuracy</dt>
            <dd>{fmt(c.accuracy)}</dd>
            <dt>Macro P / R / F1</dt>
            <dd>
              {fmt(c.macro.precision)} / {fmt(c.macro.recall)} / {fmt(c.macro.f1)}
            </dd>
            <dt>Weighted P / R / F1</dt>
            <dd>
              {fmt(c.weighted.precision)} / {fmt(c.weighted.recall)} / {fmt(c.weighted.f1)}
            </dd>
            <dt>ROC AUC</dt>
            <dd>{c.rocAuc === null ? '— (needs probabilities on every row)' : fmt(c.rocAuc)}</dd>
            <dt>Log loss</dt>
            <dd>{fmt(c.logLoss)}</dd>
            {p.registered.accuracy !== undefined && (
              <>
                <dt>Registered accuracy</dt>
                <dd>{fmt(p.registered.accuracy)}</dd>
              </>
            )}
          </dl>
          <div class="scroll">
            <table class="compact">
              <caption>Confusion matrix (rows: actual, columns: predicted)</caption>
              <thead>
                <tr>
                  <th scope="col">actual \ predicted</th>
                  {c.confusion.labels.map((l) => (
                    <th scope="col" key={l}>
                      {l}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {c.confusion.labels.map((l, i) => (
                  <tr key={l}>
                    <th scope="row">{l}</th>
                    {(c.confusion.matrix[i] ?? []).map((n, j) => (
                      <td key={c.confusion.labels[j]} class={i === j ? 'ok' : n ? 'bad' : ''}>
                        {n}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {r && (
        <dl class="facts">
          <dt>MAE</dt>
          <dd>{fmt(r.mae)}</dd>
          <dt>RMSE</dt>
          <dd>{fmt(r.rmse)}</dd>
          <dt>R²</dt>
          <dd>{fmt(r.r2)}</dd>
          <dt>MAPE</dt>
          <dd>{fmt(r.mape)}</dd>
        </dl>
      )}
    </>
  );
}

function est(e: Estimate): string {
  if (e.value === null) return '— (fewer than two groups with this rate)';
  return e.ci ? `${fmt(e.value)} (95 % CI ${fmt(e.ci[0])}–${fmt(e.ci[1])})` : fmt(e.value);
}

function FairnessCard({ name }: { name: string }) {
  const [attribute, setAttribute] = useState('');
  const [positive, setPositive] = useState('');
  const load = useAction();
  const [result, setResult] = useState<Fairness>();
  return (
    <section class="card" aria-labelledby="fairness-heading">
      <h2 id="fairness-heading">Fairness of served decisions</h2>
      <p class="muted">
        Groups come from the <code>context</code> sent with predictions (never a model input), over the last
        24 hours.
      </p>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setResult(undefined);
          return load.run(async () => {
            setResult(
              await get<Fairness>(`/models/${enc(name)}/fairness`, {
                attribute: attribute.trim(),
                positive: positive.trim(),
              }),
            );
          });
        }}
      >
        <label for="fairness-attribute">Context attribute</label>
        <input
          id="fairness-attribute"
          required
          value={attribute}
          placeholder="e.g. region"
          onInput={(e) => setAttribute((e.target as HTMLInputElement).value)}
        />
        <label for="fairness-positive">Positive class (multiclass: required)</label>
        <input
          id="fairness-positive"
          value={positive}
          placeholder="binary: the second class"
          onInput={(e) => setPositive((e.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={load.busy || !attribute.trim()}>
          Show fairness
        </button>
      </form>
      {load.error !== undefined && <ErrorBox error={load.error} />}
      {result && <FairnessView f={result} />}
    </section>
  );
}

function FairnessView({ f }: { f: Fairness }) {
  const r = f.report;
  if (f.rows === 0) {
    return (
      <Empty>
        No predictions of version {f.version} in this window have <code>{f.attribute}</code> in their context
        ({f.withoutAttribute} without it). Send it as <code>context</code> with each prediction.
      </Empty>
    );
  }
  return (
    <>
      <p>
        Version {f.version}, positive class {f.positive}: {f.rows} predictions ({f.labelled} labelled,{' '}
        {f.withoutAttribute} without the attribute){f.truncated ? ', truncated' : ''}. Selection rates use
        every row; TPR and FPR only labelled ones.
      </p>
      <div class="scroll">
        <table class="compact">
          <caption>Per group ({f.attribute})</caption>
          <Head columns={['Group', 'n', 'Selection rate', 'TPR', 'FPR', 'Unreliable (under 30 rows)']} />
          <tbody>
            {r.groups.map((g) => (
              <tr key={g.group}>
                <th scope="row">{g.group}</th>
                <td>{g.n}</td>
                <td>{fmt(g.selectionRate)}</td>
                <td>{fmt(g.tpr)}</td>
                <td>{fmt(g.fpr)}</td>
                <td class={g.unreliable.length ? 'bad' : ''}>{g.unreliable.join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <dl class="facts">
        <dt>Demographic parity difference</dt>
        <dd>{est(r.demographicParityDifference)}</dd>
        <dt>Demographic parity ratio</dt>
        <dd>{est(r.demographicParityRatio)}</dd>
        <dt>Equal opportunity difference</dt>
        <dd>{est(r.equalOpportunityDifference)}</dd>
        <dt>Equalized odds difference</dt>
        <dd>{est(r.equalizedOddsDifference)}</dd>
        <dt>Four-fifths rule</dt>
        <dd>
          {r.fourFifthsRule.passed === null
            ? '—'
            : r.fourFifthsRule.passed
              ? 'passed'
              : `failed (${r.fourFifthsRule.failing.join(', ')})`}
        </dd>
        <dt>Unreliable groups</dt>
        <dd class={r.unreliableGroups.length ? 'bad' : ''}>{r.unreliableGroups.join(', ') || 'none'}</dd>
      </dl>
    </>
  );
}
