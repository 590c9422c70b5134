export * from './delivery.js';
export * from './matching.js';
export * from './ports.js';
export * from './retry.js';
export * from './service.js';
export * from './signing.js';
export * from './types.js';
