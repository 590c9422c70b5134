/** Roles from the API contract; each includes every role before it. */
export const ROLES = ['viewer', 'predictor', 'scientist', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

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
