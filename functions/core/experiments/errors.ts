/** Invalid input to the experiments statistics or assignment (a 400-class domain error). */
import { ValidationFailed } from '../kernel/errors.js';

export class ExperimentInputError extends ValidationFailed {}

/** Throws unless `ok`; the message names the offending field. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new ExperimentInputError(message);
}
