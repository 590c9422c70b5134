import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../../functions/contract/routes.js';
import { apiReferenceMarkdown } from '../../../functions/http/api-docs.js';
import { CONTRACT, type OperationSchemas } from '../../../functions/http/contract.js';
import { openApiDocument } from '../../../functions/http/openapi.js';

describe('API documentation', () => {
  it('docs/api.md is current with the route table (run `npm run docs`)', () => {
    expect(readFileSync('docs/api.md', 'utf8')).toBe(apiReferenceMarkdown());
  });

  it('the OpenAPI document has every route, its role and its schemas', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, Record<string, unknown>>> };
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op!['x-serval-role']).toBe(r.role);
      const schemas: OperationSchemas = CONTRACT[r.operationId];
      expect(Boolean(op!.requestBody), `${r.operationId} body`).toBe(Boolean(schemas.body));
      const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op!.parameters as { in: string; name: string }[])
        .filter((p) => p.in === 'path')
        .map((p) => p.name);
      expect(declared.sort(), r.operationId).toEqual(pathParams.sort());
    }
  });

  it('describes the metrics answer as Prometheus text, every other as JSON', () => {
    const doc = openApiDocument() as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content: Record<string, unknown> }> }>
      >;
    };
    expect(Object.keys(doc.paths['/v1/metrics']!.get!.responses['200']!.content)).toEqual([
      'text/plain; version=0.0.4',
    ]);
    expect(Object.keys(doc.paths['/v1/models/{name}/predict']!.post!.responses['200']!.content)).toEqual([
      'application/json',
    ]);
  });
});
