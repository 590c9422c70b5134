/**
 * Whether a version may serve at all, and the failure that sends a request down the fallback
 * path instead of straight back to the caller.
 */
import { conflict } from '../kernel/errors.js';
import type { ModelVersion } from '../registry/types.js';

/** A version that cannot serve, and why (mapped to integrity_failed when nothing can replace it). */
export class ServingFailure extends Error {
  constructor(
    message: string,
    readonly version: ModelVersion,
    readonly kind: 'integrity' | 'load',
  ) {
    super(message);
  }
}

/** Whether the version may serve at all; unusable ones go to the fallback path. */
export function assertServable(v: ModelVersion, pinned: boolean): void {
  if (v.status === 'pending') {
    throw conflict(`version ${v.version} has no completed upload yet`, {
      version: v.version,
      status: v.status,
    });
  }
  if (pinned && v.stage === 'archived') {
    throw conflict(`version ${v.version} is archived; restore it to staging to serve it`, {
      version: v.version,
      stage: v.stage,
    });
  }
  if (v.status === 'unusable') {
    throw new ServingFailure(
      `version ${v.version} is unusable: ${v.unusableReason ?? 'its artifact failed a checksum check'}`,
      v,
      'integrity',
    );
  }
}
