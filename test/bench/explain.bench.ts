/**
 * Kernel SHAP explanations (functions/core/inference/kernel-shap.ts) on real onnxruntime sessions:
 *
 * - time of one explanation of a 10-feature MLP against 100 background rows (every one of the
 *   1,022 coalitions is evaluated: exact Shapley values), against the baseline of the same run:
 *   one `session.run` of the same 102,300 + 1 rows the explanation sends, i.e. the model's own
 *   cost; the ratio is what building coalitions and averaging add;
 * - the error of the sampled estimator at shap's default budget (2M + 2048 coalitions) against
 *   exact values (every coalition), for 12 and 14 features, as max |φ − φ_exact| / max |φ_exact|.
 *
 *   node --import tsx test/bench/explain.bench.ts
 */
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { type BatchModel, defaultSamples, kernelShap } from '../../functions/core/inference/kernel-shap.js';
import { mlpOnnx } from '../../functions/core/onnx/models.js';
import { seededRandom } from '../support/random.js';

const g = seededRandom(2026);
const matrix = (rows: number, cols: number) =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => g.normal()));

async function mlp(
  features: number,
): Promise<{ model: BatchModel; run: (inputs: Float32Array, rows: number) => Promise<unknown> }> {
  const bytes = mlpOnnx({
    layers: [
      { weights: matrix(16, features), bias: matrix(1, 16)[0]!, activation: 'relu' },
      { weights: matrix(2, 16), bias: matrix(1, 2)[0]!, activation: 'softmax' },
    ],
  });
  // One intra-op thread, as the inference adapter runs sessions (functions/adapters/onnx-runner.ts).
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const output = session.outputNames.find((n) => n !== 'label')!;
  const run = (inputs: Float32Array, rows: number) =>
    session.run({ input: new ort.Tensor('float32', inputs, [rows, features]) }, [output]);
  const model: BatchModel = async (inputs, rows) => {
    const data = ((await run(inputs, rows)) as Record<string, ort.Tensor>)[output]!.data as Float32Array;
    const values = new Float64Array(rows);
    for (let r = 0; r < rows; r++) values[r] = data[r * 2 + 1]!;
    return values;
  };
  return { model, run };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runExplainBench(): Promise<{
  explainMs: number;
  runMs: number;
  ratio: number;
  errors: Record<number, number>;
}> {
  const { model, run } = await mlp(10);
  const x = Float32Array.from(matrix(1, 10)[0]!);
  const background = Float32Array.from(matrix(100, 10).flat());
  const rows = 1 + 1023 * 100;
  const same = new Float32Array(rows * 10);
  for (let i = 0; i < same.length; i++) same[i] = g.normal();
  for (let i = 0; i < 3; i++) {
    await kernelShap(model, x, background);
    await run(same, rows);
  }
  const explain: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    await kernelShap(model, x, background);
    explain.push(performance.now() - t);
    t = performance.now();
    await run(same, rows);
    raw.push(performance.now() - t);
  }
  const explainMs = median(explain);
  const runMs = median(raw);
  console.log(
    'one explanation, 10-feature MLP (16 relu units, softmax), 100 background rows, exact (1,022 coalitions):',
  );
  console.log(`  explanation      ${explainMs.toFixed(2)} ms (median of 15)   goal ≤ 20 ms here`);
  console.log(
    `  session.run of the same ${rows} rows   ${runMs.toFixed(2)} ms   → ratio ${(explainMs / runMs).toFixed(2)}×`,
  );

  const errors: Record<number, number> = {};
  for (const features of [12, 14]) {
    const m = await mlp(features);
    const xi = Float32Array.from(matrix(1, features)[0]!);
    const bg = Float32Array.from(matrix(20, features).flat());
    const exact = await kernelShap(m.model, xi, bg, { nsamples: 2 ** features });
    const sampled = await kernelShap(m.model, xi, bg, { seed: 1 });
    const scale = Math.max(...exact.values.map(Math.abs));
    errors[features] = Math.max(...sampled.values.map((v, i) => Math.abs(v - exact.values[i]!))) / scale;
    console.log(
      `  ${features} features, default budget ${defaultSamples(features)} of ${2 ** features - 2} coalitions: max |φ − φ_exact| / max |φ_exact| = ${errors[features]!.toExponential(2)}`,
    );
  }
  return { explainMs, runMs, ratio: explainMs / runMs, errors };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runExplainBench();
