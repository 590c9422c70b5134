import { ROLES, type Role } from '../../contract/roles.js';

export { ROLES, type Role };

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** True when `held` is at least `needed`. */
export function hasRole(held: Role, needed: Role): boolean {
  return roleRank(held) >= roleRank(needed);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
