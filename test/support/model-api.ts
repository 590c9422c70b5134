/**
 * The API as a team uses it in the e2e files: a client per role, each on its own key, and a
 * registered version walked through the lifecycle with every step asserted, so that a file's
 * setup failing says which step the platform refused.
 */
import { expect } from 'vitest';
import { apiClient, type ServalProcess } from './serval-process.js';

export type Client = ReturnType<typeof apiClient>;

/** A client on a new API key of `role`, named `name`, made by the admin. */
export async function keyClient(serval: ServalProcess, role: string, name: string): Promise<Client> {
  const admin = apiClient(serval.url, serval.adminKey);
  const res = await admin('POST', '/v1/auth/keys', { name, role });
  expect(res.status, res.text).toBe(201);
  return apiClient(serval.url, res.body.key);
}

export interface RoleClients {
  readonly admin: Client;
  readonly scientist: Client;
  readonly approver: Client;
  readonly predictor: Client;
}

/** The admin's client, and a scientist, an approver and a predictor on keys named `<prefix>-<role>`. */
export async function roleClients(serval: ServalProcess, prefix: string): Promise<RoleClients> {
  return {
    admin: apiClient(serval.url, serval.adminKey),
    scientist: await keyClient(serval, 'scientist', `${prefix}-scientist`),
    approver: await keyClient(serval, 'approver', `${prefix}-approver`),
    predictor: await keyClient(serval, 'predictor', `${prefix}-predictor`),
  };
}

/**
 * Moves the registered `version` of `model` through testing and staging (by the scientist),
 * approves it (by the approver, who is someone else), and puts it in production when asked.
 */
export async function approveVersion(
  c: { readonly scientist: Client; readonly approver: Client },
  model: string,
  version: string,
  options: { readonly production?: boolean } = {},
): Promise<void> {
  const path = `/v1/models/${model}/versions/${version}`;
  for (const stage of ['testing', 'staging']) {
    const t = await c.scientist('POST', `${path}/transition`, { stage });
    expect(t.status, t.text).toBe(200);
  }
  const a = await c.approver('POST', `${path}/approval`, { decision: 'approved', comment: 'e2e' });
  expect(a.status, a.text).toBe(200);
  if (options.production) {
    const p = await c.approver('POST', `${path}/transition`, { stage: 'production' });
    expect(p.status, p.text).toBe(200);
  }
}
