/**
 * The inference function's part of CONTRACT (contract.ts spreads it in, so the OpenAPI document
 * and every test still see one contract). The inference Lambda imports this part alone: it then
 * builds only its own schemas at init, not the ~100 of every other function (issue 13).
 */
import type { OperationSchemas } from './contract.js';
import { ExplainBody, FeedbackBody, NameParams, PredictBody, StatsQuery } from './inference-schemas.js';

export const INFERENCE_CONTRACT = {
  predict: { params: NameParams, body: PredictBody },
  explain: { params: NameParams, body: ExplainBody },
  feedback: { body: FeedbackBody },
  stats: { params: NameParams, query: StatsQuery },
} as const satisfies Record<'predict' | 'explain' | 'feedback' | 'stats', OperationSchemas>;
