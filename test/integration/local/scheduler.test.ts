import { setTimeout as sleep } from 'node:timers/promises';
import type { ScheduledEvent } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FunctionId, SCHEDULES } from '../../../functions/contract/resources.js';
import { SCHEDULE_SCALE_ENV, type Scheduler, startScheduler } from '../../../local/scheduler.js';

const running: Scheduler[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** The mechanism under test with one schedule (the integrity sweep), whatever else is defined. */
function start(options: Parameters<typeof startScheduler>[0]): Scheduler {
  const scheduler = startScheduler({ schedules: { integrity: SCHEDULES.integrity }, ...options });
  running.push(scheduler);
  return scheduler;
}

describe('the local EventBridge scheduler', () => {
  it('fires each schedule at its period with a real ScheduledEvent', async () => {
    const calls: { target: FunctionId; event: ScheduledEvent; at: number }[] = [];
    const started = Date.now();
    start({
      intervalMs: 60,
      invoke: async (target, event) => {
        calls.push({ target, event, at: Date.now() });
      },
    });
    await waitFor(() => calls.length >= 3);
    // Never early, and no burst: at most one firing per elapsed period.
    expect(calls[0]!.at - started).toBeGreaterThanOrEqual(59);
    expect(calls.length).toBeLessThanOrEqual(Math.floor((Date.now() - started) / 60));
    const { target, event } = calls[0]!;
    expect(target).toBe('integrityScheduler');
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/serval-IntegritySweep'],
      detail: {},
    });
    expect(event.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(new Set(calls.map((c) => c.event.id)).size).toBe(calls.length);
  });

  it('derives periods from rateMinutes, scaled by SERVAL_SCHEDULE_SCALE or the scale option', () => {
    expect(start({ invoke: async () => {} }).periods).toEqual({ integrity: 3_600_000 });
    vi.stubEnv(SCHEDULE_SCALE_ENV, '0.0001');
    expect(start({ invoke: async () => {} }).periods).toEqual({ integrity: 360 });
    expect(start({ invoke: async () => {}, scale: 0.001 }).periods).toEqual({ integrity: 3600 });
    vi.stubEnv(SCHEDULE_SCALE_ENV, 'fast');
    expect(() => startScheduler({ invoke: async () => {} })).toThrow(
      /SERVAL_SCHEDULE_SCALE must be a positive number/,
    );
  });

  it('keeps firing after an invocation fails, reporting the failure', async () => {
    const errors: [string, unknown][] = [];
    let calls = 0;
    start({
      intervalMs: 40,
      invoke: async () => {
        calls++;
        if (calls === 1) throw new Error('target failed');
      },
      onError: (id, error) => errors.push([id, error]),
    });
    await waitFor(() => calls >= 3);
    expect(errors).toEqual([['integrity', new Error('target failed')]]);
  });

  it('fires on demand: fireNow resolves after the invocation and rejects with its failure', async () => {
    const targets: FunctionId[] = [];
    const scheduler = start({
      invoke: async (target) => {
        await sleep(30);
        targets.push(target);
      },
    });
    await scheduler.fireNow('integrity');
    expect(targets).toEqual(['integrityScheduler']);
    await scheduler.fireNow('IntegritySweep');
    expect(targets).toEqual(['integrityScheduler', 'integrityScheduler']);
    await expect(scheduler.fireNow('nope')).rejects.toThrow(/no schedule named nope/);

    const failing = start({
      invoke: async () => {
        throw new Error('boom');
      },
    });
    await expect(failing.fireNow('integrity')).rejects.toThrow('boom');
  });

  it('stop() ends the timers and waits for running invocations', async () => {
    let finished = 0;
    let calls = 0;
    const scheduler = startScheduler({
      intervalMs: 20,
      invoke: async () => {
        calls++;
        await sleep(100);
        finished++;
      },
    });
    await waitFor(() => calls >= 1);
    await scheduler.stop();
    expect(finished).toBe(calls);
    const afterStop = calls;
    await sleep(60);
    expect(calls).toBe(afterStop);
  });
});

describe('the defined schedules', () => {
  it('are all fired, each at its own rate', () => {
    const scheduler = startScheduler({ invoke: async () => {} });
    running.push(scheduler);
    expect(scheduler.periods).toEqual(
      Object.fromEntries(Object.entries(SCHEDULES).map(([id, s]) => [id, s.rateMinutes * 60_000])),
    );
  });
});
