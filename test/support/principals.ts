/** The people of the core's unit tests: a scientist who registers, approvers, an admin. */
import type { Principal } from '../../functions/core/auth/principal.js';

export const alice: Principal = { id: 'alice', name: 'Alice', role: 'scientist' };
export const bob: Principal = { id: 'bob', name: 'Bob', role: 'approver' };
export const carol: Principal = { id: 'carol', name: 'Carol', role: 'approver' };
export const root: Principal = { id: 'root', name: 'Root', role: 'admin' };
