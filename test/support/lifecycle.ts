/**
 * A test file's long-lived fixtures, in vitest hooks: started once in beforeAll (with the time a
 * JVM start needs), stopped in afterAll even when the start failed half way. `setup` receives the
 * started fixture (keep what you need of it, make clients and keys); `teardown` releases what
 * setup made, before the fixture stops.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { localS3, type ServalProcess, type StartOptions, startServal } from './serval-process.js';
import { type Standins, type StandinsOptions, startStandins, useStandinsEnv } from './standins.js';

export const START_TIMEOUT_MS = 120_000;

export interface FileHooks<T> {
  readonly setup?: (fixture: T) => unknown;
  readonly teardown?: () => unknown;
}

/** The AWS stand-ins for this file, with this process's SDK pointed at them until it ends. */
export function standinsForFile(
  hooks: FileHooks<Standins> & { readonly options?: StandinsOptions } = {},
): void {
  let aws: Standins | undefined;
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    aws = await startStandins(hooks.options);
    restoreEnv = useStandinsEnv(aws);
    await hooks.setup?.(aws);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await hooks.teardown?.();
    restoreEnv?.();
    await aws?.stop();
  });
}

/** A started local runtime and an S3 client on its stand-in, with the artifacts bucket. */
export interface LocalServal {
  readonly serval: ServalProcess;
  readonly s3: S3Client;
  readonly bucket: string;
}

/** The local runtime (`npm start`) for this file. */
export function servalForFile(
  hooks: FileHooks<LocalServal> & { readonly options?: StartOptions } = {},
): void {
  let serval: ServalProcess | undefined;
  let s3: S3Client | undefined;
  beforeAll(async () => {
    serval = await startServal(hooks.options);
    const local = localS3(serval.dataDir);
    s3 = local.s3;
    await hooks.setup?.({ serval, ...local });
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await hooks.teardown?.();
    s3?.destroy();
    await serval?.stop();
  });
}
