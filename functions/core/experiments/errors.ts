/** Invalid input to the experiments statistics or assignment: a validation_failed domain error. */
import { validationFailed } from '../kernel/errors.js';

/** Throws unless `ok`; the message names the offending field. */
export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw validationFailed(message);
}
