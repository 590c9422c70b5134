/**
 * A full garbage collection, for tests that check what a structure keeps alive (through
 * WeakRef). vitest does not start workers with --expose-gc; the flag can still be set at run
 * time, and `gc` is then defined in every context created afterwards.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function collectGarbage(): void {
  gc();
}
