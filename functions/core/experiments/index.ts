/** Experiments: fixed-horizon and sequential statistics, multiple testing, SRM and assignment. */

// The special functions live in stats (one implementation for both engines); re-exported so the
// experiments surface is unchanged.
export {
  betaIncReg,
  chiSquareSf,
  gammaQ,
  logBeta,
  logGamma,
  normalSf,
  normalTwoSidedP,
  normalUpperQuantile,
  studentTwoSidedP,
  studentTwoSidedQuantile,
} from '../stats/special.js';
export * from './adjust.js';
export * from './assignment.js';
export * from './cases.js';
export * from './definition.js';
export * from './errors.js';
export * from './events.js';
export * from './fixed.js';
export * from './msprt.js';
export * from './ports.js';
export * from './results.js';
export * from './service.js';
export * from './srm.js';
