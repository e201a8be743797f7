export * from './capture.js';
export * from './local.js';
export * from './pod-exec.js';
export * from './types.js';
