/**
 * What becomes of capture messages: gzip JSON lines in S3, then each queue body counted into the
 * serving aggregates as one group under one marker (DynamoPredictionStore.recordGroup), and an
 * experiment's requests counted into it (core/inference/experiment-observations.ts).
 *
 * The capture worker records a whole invocation's bodies at once (recordAll): their rows go to
 * one object per model, version and hour, named by the set of groups, instead of one object per
 * body: bodies carry ~20 rows under load, and one object each was ~50,000 objects per million
 * predictions for a drift check to list and read. Every row names its group (`group`), so a body
 * stored twice — counted after its object was written, retried, and stored again beside other
 * bodies, or spilled by the inference and also delivered by the queue — is read once: readers
 * skip a group's rows in any later object of the same hour (S3Captures.rows).
 * The inference function records what it could not queue (the spill), grouped exactly as the
 * queue would have carried it.
 */

import type { ExperimentStore } from '../core/experiments/ports.js';
import {
  type CaptureRow,
  captureGroupId,
  captureRows,
  toCaptureBatch,
} from '../core/inference/capture-records.js';
import { observeCaptures } from '../core/inference/experiment-observations.js';
import type { BufferedCapture, CaptureMessage } from '../core/inference/ports.js';
import type { DynamoPredictionStore } from './dynamo-predictions.js';
import type { S3Captures } from './s3-captures.js';
import { captureBodies } from './sqs-capture-queue.js';

/** Bodies of one batch counted at once, and the predictions they may hold together. */
const COUNT_CONCURRENCY = 8;
const COUNT_PREDICTIONS_AT_ONCE = 400;

export class CaptureRecorder {
  constructor(
    private readonly captures: Pick<S3Captures, 'writeCaptures'>,
    private readonly store: Pick<DynamoPredictionStore, 'recordGroup'> &
      Partial<Pick<DynamoPredictionStore, 'doneGroups'>>,
    /** Where experiments' requests are counted; without it, nothing is. */
    private readonly experiments?: Pick<ExperimentStore, 'observe'>,
    /** Whether a model's predictions keep their instances (online learning); without it, none do. */
    private readonly keepsInstances?: (model: string) => Promise<boolean>,
  ) {}

  /** One queue body's messages. S3 first: a failure before the count leaves nothing counted. */
  async record(messages: readonly CaptureMessage[]): Promise<void> {
    const [failure] = await this.recordAll([messages]);
    if (failure) throw failure.error;
  }

  /**
   * Several queue bodies: every row in S3 first (one object per model, version and hour; a
   * failure there fails them all, with nothing counted), then each body counted on its own. The
   * bodies that were not counted, with why: only those need to come back.
   */
  async recordAll(
    bodies: readonly (readonly CaptureMessage[])[],
  ): Promise<{ index: number; error: unknown }[]> {
    const groups = bodies.map((messages) => captureGroupId(messages.map((m) => m.id)));
    const byModel = new Map<string, CaptureRow[]>();
    // Bodies already recorded (a redelivery, or one the inference spilled and the queue still
    // delivered) are not stored again, though still counted (a no-op) and observed: only a body
    // stored but not counted is stored twice, and read once.
    const stored =
      bodies.length > 1 && this.store.doneGroups ? await this.store.doneGroups(groups) : new Set<string>();
    const storedBefore = new Set(stored);
    bodies.forEach((messages, b) => {
      const group = groups[b]!;
      // The same body twice in one batch (a duplicate delivery) is stored once.
      if (messages.length === 0 || stored.has(group)) return;
      stored.add(group);
      for (const m of messages) {
        const rows = captureRows(m);
        if (rows.length === 0) continue;
        const into = byModel.get(m.model) ?? [];
        byModel.set(m.model, into);
        for (const row of rows) into.push({ ...row, group });
      }
    });
    // One body alone keeps the name it always had (its group id); several are named by them all.
    const fileId = captureGroupId([...stored].filter((g) => !storedBefore.has(g)));
    await Promise.all([...byModel].map(([model, rows]) => this.captures.writeCaptures(model, rows, fileId)));
    const keep = new Map<string, boolean>();
    if (this.keepsInstances) {
      const models = new Set(bodies.flatMap((messages) => messages.map((m) => m.model)));
      for (const model of models) keep.set(model, await this.keepsInstances(model));
    }
    const failures: { index: number; error: unknown }[] = [];
    // Bodies counted a few at a time (a batch holds up to hundreds, each a few DynamoDB calls,
    // within the worker's timeout), but a large one alone: each already writes its predictions
    // 16 requests at a time, and several at once overran their claim leases on a busy table.
    const running = new Set<Promise<void>>();
    let inFlight = 0;
    for (const [b, messages] of bodies.entries()) {
      if (messages.length === 0) continue;
      const size = messages.reduce((n, m) => n + (m.predictionIds?.length ?? 0), 0);
      while (
        running.size >= COUNT_CONCURRENCY ||
        (running.size > 0 && inFlight + size > COUNT_PREDICTIONS_AT_ONCE)
      ) {
        await Promise.race(running);
      }
      inFlight += size;
      const counting = (async () => {
        try {
          // A shadow copy was never served: no prediction to take feedback, not a request of the model.
          await this.store.recordGroup(
            groups[b]!,
            messages.filter((m) => !m.shadow).map((m) => toCaptureBatch(m, keep.get(m.model) ?? false)),
          );
          // Last: every step before is idempotent, so a retry after a failed count redoes nothing
          // else and the count itself is once-only per key.
          if (this.experiments) await observeCaptures(this.experiments, messages);
        } catch (error) {
          failures.push({ index: b, error });
        } finally {
          inFlight -= size;
        }
      })();
      running.add(counting);
      void counting.then(() => running.delete(counting));
    }
    await Promise.all(running);
    return failures.sort((x, y) => x.index - y.index);
  }

  /** A batch the queue did not take, recorded body by body as the queue would have carried it. */
  async spill(messages: readonly BufferedCapture[]): Promise<void> {
    for (const body of captureBodies(messages)) {
      await this.record(JSON.parse(body) as CaptureMessage[]);
    }
  }
}
