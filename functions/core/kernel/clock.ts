/**
 * Time and identity as ports, so services stay deterministic under test: composition roots pass
 * the system clock and ULIDs (functions/adapters/system.ts), tests pass stepping fakes.
 */
export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A new ULID. */
  next(): string;
}
