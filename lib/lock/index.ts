export * from './node-lock.js';
export * from './slots.js';
