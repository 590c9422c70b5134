/**
 * Accuracy of the drift sketches against the exact engine at 1,000,000 rows per side: the table
 * quoted in docs/drift-statistics.md. `node --import tsx test/bench/sketch-accuracy.ts`
 */
import { compare, SCENARIOS } from '../support/sketch-scenarios.js';

export function sketchAccuracyTable(): string {
  const lines = [
    '| scenario | bins | exact D | |ΔD| | bound | |Δ W/std| | exact PSI | |ΔPSI| | exact JS | |ΔJS| | asymp p exact → sketch |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const bins of [256, 1024]) {
    for (const name of Object.keys(SCENARIOS)) {
      const { exact, approx } = compare(name, 1_000_000, bins);
      const e = (x: number) => x.toExponential(1);
      lines.push(
        `| ${name} | ${bins} | ${exact.ksStatistic.toFixed(4)} | ${e(exact.ksStatistic - approx.ksStatistic)} | ${e(approx.ksErrorBound)} | ${e(Math.abs(approx.wassersteinNorm - exact.wassersteinNorm))} | ${exact.psi.toFixed(4)} | ${e(Math.abs(approx.psi - exact.psi))} | ${exact.jsDistance.toFixed(4)} | ${e(Math.abs(approx.jsDistance - exact.jsDistance))} | ${e(exact.ksPValueAsymp)} → ${e(approx.ksPValueAsymp)} |`,
      );
    }
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('sketch-accuracy.ts')) console.log(sketchAccuracyTable());
