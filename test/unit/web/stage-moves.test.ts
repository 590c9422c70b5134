/** The dashboard offers only the stage moves the registry allows: its copy of the table must match. */
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../../functions/core/kernel/errors.js';
import { assertMoveAllowed } from '../../../functions/core/registry/stages.js';
import { MOVES, STAGES } from '../../../web/src/types.js';

describe("the dashboard's stage moves", () => {
  for (const from of STAGES) {
    for (const to of STAGES) {
      it(`${from} → ${to}`, () => {
        let allowed = true;
        try {
          assertMoveAllowed(from, to);
        } catch (err) {
          expect(isDomainError(err, 'conflict')).toBe(true);
          allowed = false;
        }
        expect(MOVES[from].includes(to)).toBe(allowed);
      });
    }
  }
});
