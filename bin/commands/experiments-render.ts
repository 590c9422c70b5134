/**
 * Text rendering of experiment answers for people (`serval experiments results`, `list`, state
 * changes). Scripts use `--json`, which prints the API's body as it came.
 */
import type { Experiment } from '../../functions/core/experiments/definition.js';
import type { ArmSummary, Results } from '../../functions/core/experiments/results.js';
import { listTable, num, pval, table } from './tables.js';

export function signed(x: number | null | undefined): string {
  const s = num(x);
  return x !== null && x !== undefined && x > 0 ? `+${s}` : s;
}

export function percent(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `${x > 0 ? '+' : ''}${Number((x * 100).toPrecision(3))}%`;
}

function interval(ci: readonly [number, number] | null | undefined): string {
  return ci ? `[${num(ci[0])}, ${num(ci[1])}]` : '–';
}

function arm(a: ArmSummary | undefined): [string, string, string] {
  return [String(a?.n ?? 0), num(a?.mean), interval(a?.ci)];
}

export function renderResults(r: Results): string {
  const out: string[] = [];
  const m = r.metric;
  out.push(
    `experiment ${r.experimentId} — ${r.kind} on model ${r.model}, ${r.state}; metric ${m.name} (${m.kind}, ${m.goal})`,
  );
  out.push('');
  out.push(
    table([
      [
        'variant',
        'version',
        'weight',
        'exposures',
        'n',
        'mean',
        '95% CI',
        'requests',
        'error rate',
        'p99 ms',
      ],
      ...(r.variants ?? []).map((v) => [
        v.control ? `${v.name} (control)` : v.name,
        v.version,
        `${v.weight}%`,
        String(v.exposures),
        ...arm(v.metric),
        String(v.serving?.requests ?? 0),
        num(v.serving?.errorRate),
        num(v.serving?.latencyP99Ms),
      ]),
    ]),
  );
  if ((r.comparisons ?? []).length > 0) {
    out.push('');
    const adj = r.comparisons[0]!.adjustment;
    out.push(
      table([
        ['vs control', 'diff', 'lift', '95% CI', 'p', 'always-valid p', `adjusted p (${adj})`, 'significant'],
        ...r.comparisons.map((c) => [
          c.variant,
          signed(c.diff),
          percent(c.lift),
          interval(c.ci),
          pval(c.pValue),
          pval(c.alwaysValidPValue),
          pval(c.adjustedPValue),
          c.significant ? 'yes' : 'no',
        ]),
      ]),
    );
  }
  if ((r.guardrails ?? []).length > 0) {
    out.push('');
    out.push(
      table([
        ['guardrail', 'variant', 'control', 'variant mean', 'always-valid p', 'status'],
        ...r.guardrails.map((g) => [
          `${g.metric} (${g.goal})`,
          g.variant,
          num(g.control.mean),
          num(g.treatment.mean),
          pval(g.alwaysValidPValue),
          g.failed ? 'FAILED' : g.decided ? 'holds' : 'waiting',
        ]),
      ]),
    );
  }
  if (r.shadow) {
    const s = r.shadow;
    out.push('');
    out.push(
      `shadow ${s.variant}: agreement ${num(s.agreement.mean)} ${interval(s.agreement.ci)} over ${s.agreement.n} rows; ` +
        `score diff ${num(s.scoreDiff.mean)} ${interval(s.scoreDiff.ci)}; ` +
        `latency mean ${num(s.latencyMeanMs.control)} → ${num(s.latencyMeanMs.shadow)} ms, p99 ${num(s.latencyP99Ms.control)} → ${num(s.latencyP99Ms.shadow)} ms`,
    );
  }
  if (r.canary) {
    const c = r.canary;
    out.push('');
    out.push(
      `canary: step ${c.step + 1} of ${c.steps.length} (${c.weight}%; ramp ${c.steps.join(' → ')}), since ${c.stepStartedAt}` +
        (c.waitingFor ? `; waiting: ${c.waitingFor}` : ''),
    );
  }
  out.push('');
  out.push(
    r.srm?.ok === false
      ? `SRM: MISMATCH (p = ${pval(r.srm.pValue)} < 0.001) — exposures ${fmtCounts(r.srm.counts)}, expected ${fmtCounts(r.srm.expected)}`
      : `SRM: ok (p = ${pval(r.srm?.pValue)})`,
  );
  out.push(`decision: ${r.decision}${r.winner !== undefined ? ` (${r.winner})` : ''} — ${r.reason}`);
  return out.join('\n');
}

function fmtCounts(c: Record<string, number> | undefined): string {
  return Object.entries(c ?? {})
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
}

/** Weights from the slot table (100 slots, one percentage point each). */
export function weightsOf(e: Pick<Experiment, 'allocation' | 'variants'>): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(e.variants.map((v) => [v.name, 0]));
  for (const slot of e.allocation?.slots ?? []) {
    const name = e.allocation.variants[slot];
    if (name !== undefined) out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

export function renderExperiment(e: Experiment): string {
  const weights = weightsOf(e);
  const lines = [
    `${e.id}  ${e.name}`,
    `  model ${e.model}, ${e.kind}, ${e.state}${e.outcome ? ` — ${e.outcome.result}: ${e.outcome.reason}` : ''}`,
    `  variants: ${e.variants.map((v) => `${v.name}=${v.version} ${weights[v.name]}%${v.control ? ' (control)' : ''}`).join(', ')}`,
  ];
  if (e.canary) {
    const step = e.canaryProgress ? `, at step ${e.canaryProgress.step + 1}` : '';
    lines.push(`  canary: ${e.canary.steps.join(' → ')} %, ${e.canary.bakeMinutes} min per step${step}`);
  }
  return lines.join('\n');
}

export function renderList(items: readonly Experiment[], nextCursor?: string): string {
  return listTable<Experiment>(
    { items, nextCursor },
    [
      ['ID', (e) => e.id],
      ['MODEL', (e) => e.model],
      ['KIND', (e) => e.kind],
      ['STATE', (e) => e.state],
      ['NAME', (e) => e.name],
    ],
    'no experiments',
  );
}
