import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../functions/core/kernel/audit.js';
import type { DomainError } from '../../../functions/core/kernel/errors.js';
import {
  describeMode,
  type ModeState,
  type ModeStore,
  Modes,
  mayRunTraining,
} from '../../../functions/core/system/modes.js';

class MemoryModeStore implements ModeStore {
  state?: ModeState;
  audits: AuditEvent[] = [];
  reads = 0;
  async get() {
    this.reads++;
    return this.state;
  }
  async put(state: ModeState, expectRevision: number, audit: AuditEvent) {
    if ((this.state?.revision ?? 0) !== expectRevision) throw new Error('stale');
    this.state = state;
    this.audits.push(audit);
  }
}

/** A clock that stands still until a test moves `t` (milliseconds since the epoch). */
const manualClock = () => ({
  t: 0,
  now() {
    return new Date(this.t);
  },
});

const admin = { id: 'root', name: 'root', role: 'admin' as const };

describe('Modes', () => {
  it('starts in serving, refuses changes only in maintenance, and audits every change', async () => {
    const store = new MemoryModeStore();
    const clock = manualClock();
    const modes = new Modes({ store, clock, ids: { next: () => 'id' } });
    expect((await modes.current()).mode).toBe('serving');
    await modes.assertWritable();
    await modes.set(admin, 'maintenance', 'db upgrade');
    const err = await modes.assertWritable().then(
      () => undefined,
      (e: unknown) => e as DomainError,
    );
    expect(err?.code).toBe('unavailable');
    expect(err?.details).toMatchObject({ mode: 'maintenance' });
    expect((await modes.set(admin, 'training')).revision).toBe(2);
    await modes.assertWritable();
    expect(store.audits.map((a) => [a.action, a.before, a.after])).toEqual([
      ['mode.change', { mode: 'serving' }, { mode: 'maintenance' }],
      ['mode.change', { mode: 'maintenance' }, { mode: 'training' }],
    ]);
    const same = await modes.set(admin, 'training').then(
      () => undefined,
      (e: unknown) => e as DomainError,
    );
    expect(same?.code).toBe('conflict');
  });

  it('reads the stored mode at most once per cache period', async () => {
    const store = new MemoryModeStore();
    const clock = manualClock();
    const modes = new Modes({ store, clock, ids: { next: () => 'id' }, cacheMs: 2000 });
    await modes.current();
    await modes.current();
    expect(store.reads).toBe(1);
    store.state = { mode: 'maintenance', changedAt: 'x', changedBy: 'other', comment: '', revision: 1 };
    clock.t += 1999;
    expect((await modes.current()).mode).toBe('serving'); // another function changed it; not seen yet
    clock.t += 1;
    expect((await modes.current()).mode).toBe('maintenance');
  });
});

describe('mayRunTraining', () => {
  it('runs retraining in training mode, in serving only when the model policy allows, never in maintenance', () => {
    expect(mayRunTraining('training')).toBe(true);
    expect(mayRunTraining('training', { allowInServing: false })).toBe(true);
    expect(mayRunTraining('serving')).toBe(false);
    expect(mayRunTraining('serving', { allowInServing: false })).toBe(false);
    expect(mayRunTraining('serving', { allowInServing: true })).toBe(true);
    expect(mayRunTraining('maintenance')).toBe(false);
    expect(mayRunTraining('maintenance', { allowInServing: true })).toBe(false);
  });

  it('follows the mode the Modes service reads, and describes each mode by the same rule', async () => {
    const store = new MemoryModeStore();
    const modes = new Modes({ store, clock: manualClock(), ids: { next: () => 'id' }, cacheMs: 0 });
    expect(await modes.allowsTraining()).toBe(false);
    await modes.set(admin, 'training');
    expect(await modes.allowsTraining()).toBe(true);
    const described = describeMode(await modes.current());
    expect(described).toMatchObject({ mode: 'training', changes: true, retraining: 'always' });
    expect(describeMode({ ...described, mode: 'serving' }).retraining).toBe('if_policy_allows');
    expect(describeMode({ ...described, mode: 'maintenance' })).toMatchObject({
      changes: false,
      retraining: 'never',
    });
  });
});
