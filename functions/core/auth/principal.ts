import type { Role } from './roles.js';

/** Who is calling: resolved from an API key (or, later, a JWT) by the authorizer. */
export interface Principal {
  /** Stable identifier (the API key id); the actor recorded in audit events. */
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  /** How the caller authenticated (absent for platform internals). */
  readonly via?: 'key' | 'jwt';
}

/** The principal used by platform internals (schedulers, workers, bootstrap). */
export const SYSTEM_PRINCIPAL: Principal = { id: 'system', name: 'serval', role: 'admin' };
