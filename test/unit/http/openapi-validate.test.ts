/**
 * The OpenAPI document Serval serves (GET /v1/openapi.json), checked by a standard validator
 * (@apidevtools/swagger-parser: the OpenAPI 3.1 JSON schema, then its own structural rules), so
 * client generators and gateways that import it accept it.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../functions/contract/routes.js';
import { openApiDocument } from '../../../functions/http/openapi.js';

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 with an operation for every route', async () => {
    const doc = structuredClone(openApiDocument());
    const api = (await SwaggerParser.validate(doc as never)) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ops = Object.values(api.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ops.sort()).toEqual(ROUTES.map((r) => r.operationId).sort());
  });

  it('the validator refuses a broken document (it is not a rubber stamp)', async () => {
    const doc = structuredClone(openApiDocument()) as { paths: Record<string, Record<string, unknown>> };
    const first = Object.values(doc.paths)[0]!;
    (Object.values(first)[0] as { responses?: unknown }).responses = 'none';
    await expect(SwaggerParser.validate(doc as never)).rejects.toThrow();
  });
});
