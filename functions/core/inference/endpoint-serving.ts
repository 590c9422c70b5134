/**
 * Serving a version that runs on a SageMaker endpoint: the instances go out as rows of numbers,
 * and the endpoint's answer is read back against the version's output schema.
 */
import { encodeInstances } from '../kernel/encode.js';
import { modelFailed, unavailable, unsupported } from '../kernel/errors.js';
import { classLabel } from '../kernel/outputs.js';
import type { ModelVersion } from '../registry/types.js';
import type { IdBlockSource } from './ids.js';
import {
  type EndpointAnswer,
  type EndpointInvoker,
  EndpointModelError,
  EndpointUnavailable,
} from './ports.js';
import { type PredictInput, type PredictOutput, requireSchemas, type Served } from './predict-request.js';

export async function serveOnEndpoint(
  endpoints: EndpointInvoker | undefined,
  ids: IdBlockSource,
  name: string,
  v: ModelVersion,
  endpoint: string,
  input: PredictInput,
): Promise<Served> {
  const { inputSchema, outputSchema: schema } = requireSchemas(v);
  if (input.explain) {
    throw unsupported(`version ${v.version} runs on a SageMaker endpoint; explanations need an ONNX version`);
  }
  if (!endpoints) throw unavailable('SageMaker delegation is not configured here');
  const f = inputSchema.features.length;
  const rows = input.instances.length;
  const batch = encodeInstances(input.instances, inputSchema);
  const matrix: number[][] = new Array(rows);
  for (let r = 0; r < rows; r++) matrix[r] = Array.from(batch.subarray(r * f, (r + 1) * f));
  let answer: EndpointAnswer;
  try {
    answer = await endpoints.invoke(endpoint, matrix);
  } catch (err) {
    if (err instanceof EndpointModelError) {
      throw modelFailed(`endpoint ${endpoint} failed: ${err.message}`, {
        ...err.details,
        version: v.version,
      });
    }
    if (err instanceof EndpointUnavailable) {
      throw unavailable(`endpoint ${endpoint} is unavailable (${err.reason}): ${err.message}`, {
        ...err.details,
        reason: err.reason,
        version: v.version,
        ...(err.retryAfterSeconds !== undefined ? { retryAfterSeconds: err.retryAfterSeconds } : {}),
      });
    }
    throw err;
  }
  let predictions: (string | number)[];
  let probabilities: number[][] | undefined;
  if (answer.probabilities) {
    probabilities = answer.probabilities;
    predictions = answer.probabilities.map((p) => {
      let best = 0;
      for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
      return schema.kind === 'regression' ? (p[0] as number) : classLabel(schema, best);
    });
    if (schema.kind === 'regression') probabilities = undefined;
  } else {
    predictions =
      schema.kind === 'regression'
        ? answer.values
        : answer.values.map((x) => classLabel(schema, Math.round(x)));
  }
  const output: PredictOutput = {
    model: name,
    modelVersion: v.version,
    runtime: 'sagemaker',
    predictions,
    ...(probabilities ? { probabilities } : {}),
    predictionIds: ids.block().ids(rows),
  };
  return { output, version: v, schema };
}
