/**
 * Prediction ids: one ULID per predicted row. A batch of 1000 rows must not cost 1000 random
 * draws on the hot path, so a request draws one ULID and numbers its rows in the low 15 bits of
 * the random part: 65 random bits stay per request, ids stay valid, unique and time-ordered ULIDs,
 * and rows of one request sort in request order.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../kernel/clock.js';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 15 bits: three base-32 digits. */
export const MAX_ROWS_PER_REQUEST = 32_768;

/** Ids `prefix + three digits`, drawn for one request. */
export class PredictionIdBlock {
  constructor(private readonly prefix: string) {}

  id(row: number): string {
    return (
      this.prefix +
      (CROCKFORD[(row >> 10) & 31] as string) +
      (CROCKFORD[(row >> 5) & 31] as string) +
      (CROCKFORD[row & 31] as string)
    );
  }

  ids(rows: number): string[] {
    if (rows > MAX_ROWS_PER_REQUEST) throw new RangeError(`at most ${MAX_ROWS_PER_REQUEST} rows per block`);
    const out = new Array<string>(rows);
    for (let i = 0; i < rows; i++) out[i] = this.id(i);
    return out;
  }
}

export interface IdBlockSource {
  block(): PredictionIdBlock;
}

/** 10 time digits (48-bit ms) + 13 random digits (65 bits); the last 3 digits are the row. */
export class RandomIdBlocks implements IdBlockSource {
  private pool = Buffer.alloc(0);
  private offset = 0;
  /** The time digits of the last millisecond seen: requests within one millisecond share them. */
  private lastMs = Number.NaN;
  private lastTime = '';

  constructor(private readonly clock: Clock = { now: () => new Date() }) {}

  block(): PredictionIdBlock {
    const ms = this.clock.now().getTime();
    if (ms !== this.lastMs) {
      let t = ms;
      let time = '';
      for (let i = 0; i < 10; i++) {
        time = (CROCKFORD[t % 32] as string) + time;
        t = Math.floor(t / 32);
      }
      this.lastMs = ms;
      this.lastTime = time;
    }
    const time = this.lastTime;
    // Random bytes come from a pool refilled 4 KB at a time: one syscall per ~300 requests.
    if (this.offset + 13 > this.pool.length) {
      this.pool = randomBytes(4096);
      this.offset = 0;
    }
    let random = '';
    for (let i = 0; i < 13; i++) random += CROCKFORD[(this.pool[this.offset + i] as number) & 31];
    this.offset += 13;
    return new PredictionIdBlock(time + random);
  }
}
