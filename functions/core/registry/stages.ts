import { conflict } from '../kernel/errors.js';
import type { Stage } from './types.js';

/**
 * The lifecycle: draft → testing → staging → production, any stage → archived, archived →
 * staging. production → staging happens only as the demotion that a promotion or rollback does.
 */
const MOVES: Record<Stage, readonly Stage[]> = {
  draft: ['testing', 'archived'],
  testing: ['staging', 'archived'],
  staging: ['production', 'archived'],
  production: ['archived'],
  archived: ['staging'],
};

export function assertMoveAllowed(from: Stage, to: Stage): void {
  if (!MOVES[from].includes(to)) {
    const allowed = MOVES[from];
    throw conflict(
      `a version in ${from} cannot move to ${to}; from ${from} it can move to ${allowed.join(' or ')}`,
      { from, to, allowed },
    );
  }
}
