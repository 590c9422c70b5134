/**
 * The background thread starts at the beginning of a start, so it loads its functions' code while
 * the stand-ins boot, and is given their environments later. A start can fail in between (a port in
 * use, a JVM that will not boot): the thread must end then too, or the runtime's stop would wait.
 */
import { describe, expect, it } from 'vitest';
import { spawnBackground } from '../../../local/background.js';

describe('the background thread', () => {
  it('ends when stopped before it was given anything to run', async () => {
    const exits: string[] = [];
    const thread = spawnBackground(
      () => undefined,
      (message) => exits.push(message),
    );
    await thread.stop();
    // A second stop is the same stop.
    await thread.stop();
    expect(exits).toEqual([]);
  });

  it('reports a start it cannot complete, then ends', async () => {
    const lines: string[] = [];
    const thread = spawnBackground(
      (line) => lines.push(line),
      () => undefined,
    );
    // No function environments: the queues' workers are missing, which the thread refuses.
    const start = thread.start({
      envs: {},
      sqsEndpoint: 'http://127.0.0.1:9',
      queues: {} as never,
    });
    await expect(start).rejects.toThrow(/has no worker/);
    await thread.stop();
  });
});
