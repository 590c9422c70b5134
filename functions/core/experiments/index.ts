/** Experiments: fixed-horizon and sequential statistics, multiple testing, SRM and assignment. */
export * from './adjust.js';
export * from './assignment.js';
export * from './cases.js';
export * from './errors.js';
export * from './fixed.js';
export * from './msprt.js';
export * from './special.js';
export * from './srm.js';
