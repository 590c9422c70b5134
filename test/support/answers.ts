/**
 * Every answer a test gets from a running Serval, checked against the contract: a success has the
 * operation's status and a body its answer schema takes (functions/http/answers, strict objects,
 * so a field the schema does not name fails too); a refusal has the error body with a code whose
 * status is the one answered. apiClient (serval-process.ts) runs it on every call, so the e2e
 * suite as a whole holds the OpenAPI document's answers to what the code sends.
 * SERVAL_ANSWER_LOG names a file to which each checked operation id is appended (coverage).
 */
import { appendFileSync } from 'node:fs';
import * as z from 'zod';
import { ErrorAnswer } from '../../functions/http/answers/common.js';
import { ANSWERS } from '../../functions/http/answers/index.js';
import { CONTRACT } from '../../functions/http/contract.js';
import { STATUS_BY_CODE } from '../../functions/http/errors.js';
import { matchRoute } from '../../local/gateway.js';

export class AnswerContractError extends Error {}

/** Throws AnswerContractError when the answer breaks the contract; answers off the route table pass. */
export function checkAnswer(
  method: string,
  url: string,
  status: number,
  body: unknown,
  isJson: boolean,
): void {
  const pathname = new URL(url, 'http://serval').pathname;
  const { match } = matchRoute(method.toUpperCase(), pathname);
  if (!match) return;
  const op = match.route.operationId;
  const where = `${method.toUpperCase()} ${pathname} (${op}) answered ${status}`;
  const fail = (why: string) => {
    throw new AnswerContractError(`${where}: ${why}\nbody: ${JSON.stringify(body)?.slice(0, 1500)}`);
  };
  if (status >= 200 && status < 300) {
    const expected = (CONTRACT[op] as { status?: number }).status ?? 200;
    if (status !== expected) fail(`the contract's success status is ${expected}`);
    const schema = ANSWERS[op];
    if (schema === null) return;
    if (!isJson) fail('not JSON');
    const parsed = schema.safeParse(body);
    if (!parsed.success) fail(`its answer schema refuses the body:\n${z.prettifyError(parsed.error)}`);
  } else if (isJson) {
    const parsed = ErrorAnswer.safeParse(body);
    if (!parsed.success) fail(`not the error body:\n${z.prettifyError(parsed.error)}`);
    else if (STATUS_BY_CODE[parsed.data.error.code] !== status)
      fail(`error code ${parsed.data.error.code} belongs to another status`);
  }
  const log = process.env.SERVAL_ANSWER_LOG;
  if (log) appendFileSync(log, `${op} ${status}\n`);
}
