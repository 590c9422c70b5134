/** The OpenAPI 3.1 document, generated from the route table, the request schemas and the answer schemas. */
import * as z from 'zod';
import { ROUTES } from '../contract/routes.js';
import { ErrorAnswer } from './answers/common.js';
import { ANSWERS, namedAnswers } from './answers/index.js';
import { CONTRACT, type OperationSchemas } from './contract.js';

function jsonSchema(schema: z.core.$ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parameters(schemas: OperationSchemas) {
  const out: Record<string, unknown>[] = [];
  for (const [where, schema] of [
    ['path', schemas.params],
    ['query', schemas.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
    for (const [name, s] of Object.entries(js.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (js.required ?? []).includes(name),
        schema: s,
      });
    }
  }
  return out;
}

let cached: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  const answers = namedAnswers();
  const { schemas: answerSchemas } = z.toJSONSchema(answers, {
    io: 'output',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  for (const route of ROUTES) {
    const schemas: OperationSchemas = CONTRACT[route.operationId];
    const ok = String(schemas.status ?? 200);
    const responses: Record<string, unknown> = {
      [ok]: {
        description: 'success',
        content: schemas.produces
          ? { [schemas.produces]: { schema: { type: 'string' } } }
          : {
              'application/json': {
                schema: { $ref: `#/components/schemas/${answers.get(ANSWERS[route.operationId]!)!.id}` },
              },
            },
      },
      '400': { $ref: '#/components/responses/Error' },
      '500': { $ref: '#/components/responses/Error' },
      // Every other refusal (404, 409, 413, 422, 429, 503…) carries the same body.
      default: { $ref: '#/components/responses/Error' },
    };
    if (route.role !== 'none') {
      responses['401'] = { $ref: '#/components/responses/Error' };
      responses['403'] = { $ref: '#/components/responses/Error' };
    }
    const op: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      description: route.role === 'none' ? 'No credential needed.' : `Minimum role: **${route.role}**.`,
      'x-serval-role': route.role,
      security: route.role === 'none' ? [] : [{ apiKey: [] }],
      parameters: parameters(schemas),
      responses,
    };
    if (schemas.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: jsonSchema(schemas.body) } },
      };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = op;
  }
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Serval API',
      version: '0.1.0',
      description:
        'Serverless MLOps: model registry, inference, experiments, monitoring and retraining. ' +
        'Errors are {"error": {"code", "message", "details"}}.',
    },
    servers: [{ url: '/' }],
    components: {
      schemas: Object.fromEntries(
        // Each keeps its name as the key; `$id` (a fragment URI here) is not allowed inside one.
        Object.entries(answerSchemas).map(([id, { $schema: _s, $id: _id, ...schema }]) => [id, schema]),
      ),
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      responses: {
        Error: {
          description: 'error',
          content: { 'application/json': { schema: jsonSchema(ErrorAnswer, 'output') } },
        },
      },
    },
    paths,
  };
  return cached;
}
