/** Clock, id generator and configuration read from the environment, for composition roots. */
import { monotonicFactory } from 'ulid';
import type { Clock, IdGenerator } from '../core/registry/ports.js';

export const systemClock: Clock = { now: () => new Date() };

const ulid = monotonicFactory();
export const ulids: IdGenerator = { next: () => ulid() };

/** Reads a variable the deployment must set; a missing one is a deployment fault, said plainly. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set; the function is misconfigured`);
  return value;
}
