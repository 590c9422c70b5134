/**
 * What becomes of one group of capture messages (a queue body): gzip JSON lines in S3, one object
 * per model, version and hour named by the group's id, then the group counted into the serving
 * aggregates under one marker (DynamoPredictionStore.recordGroup), and an experiment's requests
 * counted into it (core/inference/experiment-observations.ts). The capture worker records
 * what the queue delivers; the inference function records what it could not queue (the spill),
 * grouped exactly as the queue would have carried it, so a group that arrives both ways
 * overwrites the same objects and is counted once.
 */

import type { ExperimentStore } from '../core/experiments/ports.js';
import { captureGroupId, captureRows, toCaptureBatch } from '../core/inference/capture-records.js';
import { observeCaptures } from '../core/inference/experiment-observations.js';
import type { CaptureMessage } from '../core/inference/ports.js';
import type { DynamoPredictionStore } from './dynamo-predictions.js';
import type { S3Captures } from './s3-captures.js';
import { captureBodies } from './sqs-capture-queue.js';

export class CaptureRecorder {
  constructor(
    private readonly captures: Pick<S3Captures, 'writeCaptures'>,
    private readonly store: Pick<DynamoPredictionStore, 'recordGroup'>,
    /** Where experiments' requests are counted; without it, nothing is. */
    private readonly experiments?: Pick<ExperimentStore, 'observe'>,
  ) {}

  /** One queue body's messages. S3 first: a failure before the count leaves nothing counted. */
  async record(messages: readonly CaptureMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const groupId = captureGroupId(messages.map((m) => m.id));
    const byModel = new Map<string, ReturnType<typeof captureRows>>();
    for (const m of messages) {
      const rows = captureRows(m);
      if (rows.length === 0) continue;
      const into = byModel.get(m.model);
      if (into) into.push(...rows);
      else byModel.set(m.model, rows);
    }
    await Promise.all([...byModel].map(([model, rows]) => this.captures.writeCaptures(model, rows, groupId)));
    // A shadow copy was never served: no prediction to take feedback, not a request of the model.
    await this.store.recordGroup(groupId, messages.filter((m) => !m.shadow).map(toCaptureBatch));
    // Last: every step before is idempotent, so a retry after a failed count redoes nothing else
    // and the count itself is once-only per key.
    if (this.experiments) await observeCaptures(this.experiments, messages);
  }

  /** A batch the queue did not take, recorded body by body as the queue would have carried it. */
  async spill(messages: readonly CaptureMessage[]): Promise<void> {
    for (const body of captureBodies(messages)) {
      await this.record(JSON.parse(body) as CaptureMessage[]);
    }
  }
}
