/** The route reference in docs/api.md, generated from the route table (`npm run docs`). */
import { ROUTES } from '../contract/routes.js';

export function apiReferenceMarkdown(): string {
  const lines = [
    '# Serval HTTP API — route reference',
    '',
    '<!-- Generated from functions/contract/routes.ts by `npm run docs`; a test fails when it is stale. -->',
    '',
    'Every route is under `/v1`, JSON in and out. Send `x-api-key: <key>` on every route that needs a',
    'role. Errors are `{"error": {"code", "message", "details"}}`. Request schemas, parameters and the',
    'schema of every success answer are in the OpenAPI document served at `GET /v1/openapi.json` (the',
    'answer schemas live in functions/http/answers; the handlers are type-checked against them, and the',
    'end-to-end tests check every answer they receive against them, extra fields included).',
    'Mutating POSTs accept `idempotency-key`.',
    'A query parameter that a route does not take is refused with 400 `validation_failed`, naming the',
    'ones it takes, rather than ignored: a misspelt filter would otherwise answer unfiltered.',
    '',
    '| method | path | minimum role | what it does |',
    '|---|---|---|---|',
  ];
  for (const r of ROUTES) lines.push(`| ${r.method} | \`${r.path}\` | ${r.role} | ${r.summary} |`);
  lines.push('');
  return lines.join('\n');
}
