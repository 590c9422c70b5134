/** Roles from the API contract; each includes every role before it. */
export const ROLES = ['viewer', 'predictor', 'scientist', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];
