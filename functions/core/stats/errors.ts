/**
 * Errors raised by the statistics engine: bad input is a client mistake (400 validation_failed),
 * mapped by the HTTP layer like any other domain error.
 */
import { ValidationFailed } from '../kernel/errors.js';

export class StatsInputError extends ValidationFailed {}
