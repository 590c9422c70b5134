/** Clock and id generator for composition roots. */
import { monotonicFactory } from 'ulid';
import type { Clock, IdGenerator } from '../core/kernel/clock.js';

export const systemClock: Clock = { now: () => new Date() };

const ulid = monotonicFactory();
export const ulids: IdGenerator = { next: () => ulid() };
