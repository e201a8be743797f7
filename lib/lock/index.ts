export * from './types.js';
export * from './node-lock.js';
export * from './slots.js';
export * from './lease-state.js';
export * from './lease-api.js';
export * from './lease-lock.js';
export * from './acquire.js';
