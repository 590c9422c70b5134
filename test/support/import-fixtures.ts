/**
 * Models "trained elsewhere", made in the test: a float64-input ONNX regression (as skl2onnx
 * writes for double data), an MLflow model directory around it (MLmodel with the onnx flavor, a
 * signature, an input example, and the run's metrics and params in MLflow's file-store layout),
 * and a SageMaker `model.tar.gz` holding `model.onnx`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ElemType, GraphBuilder } from '../../functions/core/onnx/graph.js';
import { linearRegressionOnnx } from '../../functions/core/onnx/models.js';
import { writeTarGz } from '../../functions/core/registry/archive.js';

/** y = 2·x0 − x1 + 0.5·x2 + 1 */
export const WEIGHTS = [2, -1, 0.5] as const;
export const BIAS = 1;
export const expected = (row: readonly number[]) => row.reduce((s, x, i) => s + x * WEIGHTS[i]!, BIAS);

/** The regression with a float64 input `x`, cast to float inside the graph, and output `variable`. */
export function float64RegressionOnnx(): Uint8Array {
  const g = new GraphBuilder('double_regression');
  const x = g.input('x', ElemType.DOUBLE, ['N', WEIGHTS.length]);
  const xf = g.node('Cast', [x], ['x_float'], { to: { type: 'int', value: ElemType.FLOAT } });
  const w = g.floats('coef', [WEIGHTS.length, 1], WEIGHTS);
  const b = g.floats('intercept', [1], [BIAS]);
  g.node('Gemm', [xf, w, b], ['variable']);
  g.output('variable', ElemType.FLOAT, ['N', 1]);
  return g.encode({ producerName: 'skl2onnx', producerVersion: '1.17' });
}

export function float32RegressionOnnx(): Uint8Array {
  return linearRegressionOnnx({ weights: [...WEIGHTS], bias: BIAS });
}

export const EXAMPLE_ROWS = [
  [1, 2, 3],
  [0.5, -1, 4],
];

const MLMODEL = (example = true) => `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.16.0
    providers:
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.11.9
mlflow_version: 2.16.0
model_uuid: 6f1c0f0e5b8a4f7d9a3c2b1e0d9f8a7b
run_id: 0a1b2c3d4e5f
${example ? 'saved_input_example_info:\n  artifact_path: input_example.json\n  pandas_orient: split\n  type: dataframe\n' : ''}signature:
  inputs: '[{"type": "double", "name": "sepal_length", "required": true}, {"type": "double", "name": "sepal_width", "required": true}, {"type": "double", "name": "petal_length", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 1]}}]'
  params: null
utc_time_created: '2024-09-01 10:00:00.000000'
`;

/**
 * An MLflow run in the file store's layout: `metrics/`, `params/` and `artifacts/model/` with
 * the model directory. `modelOnly` gives just the model directory's files (what `mlflow
 * models` commands and `log_model` artifacts hold).
 */
export function mlflowRunFiles(
  onnx = float64RegressionOnnx(),
  options: { example?: unknown; modelOnly?: boolean } = {},
): Map<string, Uint8Array> {
  const enc = (s: string) => new TextEncoder().encode(s);
  const model = options.modelOnly ? '' : 'artifacts/model/';
  const files = new Map<string, Uint8Array>([
    [`${model}MLmodel`, enc(MLMODEL(options.example !== null))],
    [`${model}model.onnx`, onnx],
    [`${model}requirements.txt`, enc('mlflow==2.16.0\nonnx==1.16.0\n')],
  ]);
  if (options.example !== null) {
    const example = options.example ?? {
      columns: ['sepal_length', 'sepal_width', 'petal_length'],
      data: EXAMPLE_ROWS,
    };
    files.set(`${model}input_example.json`, enc(JSON.stringify(example)));
  }
  if (!options.modelOnly) {
    files.set('metrics/rmse', enc('1725000000000 0.41 0\n1725000001000 0.37 1\n'));
    files.set('metrics/r2', enc('1725000001000 0.93 1\n'));
    files.set('params/alpha', enc('0.01'));
    files.set('params/solver', enc('lbfgs'));
  }
  return files;
}

export function mlflowArchive(files = mlflowRunFiles()): Promise<Uint8Array> {
  return writeTarGz(files);
}

export function sagemakerArchive(onnx = float64RegressionOnnx()): Promise<Uint8Array> {
  return writeTarGz(
    new Map([
      ['model.onnx', onnx],
      ['code/inference.py', new TextEncoder().encode('# unused by Serval\n')],
    ]),
  );
}

export function writeFiles(dir: string, files: ReadonlyMap<string, Uint8Array>): void {
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
}
