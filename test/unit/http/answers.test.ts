/**
 * The answer schemas (functions/http/answers) cover every operation, reach the OpenAPI document,
 * and the check every e2e call goes through (test/support/answers.ts) refuses what breaks them.
 */
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ROUTES } from '../../../functions/contract/routes.js';
import { ANSWERS } from '../../../functions/http/answers/index.js';
import { CONTRACT, type OperationSchemas } from '../../../functions/http/contract.js';
import { openApiDocument } from '../../../functions/http/openapi.js';
import { AnswerContractError, checkAnswer } from '../../support/answers.js';

type Doc = {
  components: { schemas: Record<string, Record<string, unknown>> };
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }
    >
  >;
};

describe('answer schemas', () => {
  it('every JSON operation has a schema of its own, which is no placeholder; only text answers have none', () => {
    for (const r of ROUTES) {
      const schema = ANSWERS[r.operationId];
      const produces = (CONTRACT[r.operationId] as OperationSchemas).produces;
      if (produces) {
        expect(schema, r.operationId).toBeNull();
        continue;
      }
      expect(schema, r.operationId).toBeInstanceOf(z.ZodType);
      expect(schema instanceof z.ZodUnknown || schema instanceof z.ZodAny, r.operationId).toBe(false);
    }
  });

  it('the OpenAPI document describes each JSON answer by a shared component, strict where the schema is', () => {
    const doc = openApiDocument() as Doc;
    for (const r of ROUTES) {
      const status = String((CONTRACT[r.operationId] as OperationSchemas).status ?? 200);
      const content = doc.paths[r.path]![r.method.toLowerCase()]!.responses[status]!.content!;
      const json = content['application/json'];
      if (ANSWERS[r.operationId] === null) {
        expect(json, r.operationId).toBeUndefined();
        continue;
      }
      const ref = json!.schema.$ref as string;
      expect(ref, r.operationId).toMatch(/^#\/components\/schemas\/\w+$/);
      const component = doc.components.schemas[ref.split('/').pop()!]!;
      expect(component, `${r.operationId}: ${ref}`).toBeDefined();
      // A strict object's fields are listed and no other is allowed.
      if (component.type === 'object' && component.properties) {
        expect(component.additionalProperties, r.operationId).toBe(false);
      }
    }
    // Every reference in the document resolves.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map(
      (m) => m[1]!,
    );
    expect(refs.length).toBeGreaterThan(ROUTES.length);
    expect(refs.filter((id) => !doc.components.schemas[id])).toEqual([]);
  });
});

describe('the answer check of the e2e client', () => {
  it('passes a success that matches, and answers off the route table', () => {
    expect(() => checkAnswer('POST', '/v1/webhooks/abc', 404, errorBody('not_found'), true)).not.toThrow();
    expect(() => checkAnswer('GET', '/dashboard/index.html', 200, '<html>', false)).not.toThrow();
    expect(() => checkAnswer('GET', '/v1/metrics', 200, '# HELP', false)).not.toThrow();
  });

  it('refuses a success with a field its schema does not name, or without one it requires', () => {
    const page = { items: [], nextCursor: null };
    expect(() => checkAnswer('GET', '/v1/alerts', 200, page, true)).not.toThrow();
    expect(() => checkAnswer('GET', '/v1/alerts', 200, { ...page, total: 0 }, true)).toThrow(
      AnswerContractError,
    );
    expect(() => checkAnswer('GET', '/v1/alerts', 200, { items: [] }, true)).toThrow(
      /listAlerts.*nextCursor/s,
    );
  });

  it('refuses a success status other than the contract says, and a non-JSON success of a JSON operation', () => {
    expect(() => checkAnswer('GET', '/v1/alerts', 201, { items: [], nextCursor: null }, true)).toThrow(
      /success status is 200/,
    );
    expect(() => checkAnswer('GET', '/v1/alerts', 200, 'ok', false)).toThrow(/not JSON/);
  });

  it('refuses an error answer that is not the error body, or whose code belongs to another status', () => {
    expect(() => checkAnswer('GET', '/v1/alerts', 400, { message: 'bad' }, true)).toThrow(
      /not the error body/,
    );
    expect(() => checkAnswer('GET', '/v1/alerts', 400, errorBody('not_found'), true)).toThrow(
      /not_found belongs to another status/,
    );
    expect(() => checkAnswer('GET', '/v1/alerts', 404, errorBody('not_found'), true)).not.toThrow();
  });
});

function errorBody(code: string) {
  return { error: { code, message: 'm', details: {} } };
}
