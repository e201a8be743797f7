export * from './settings.js';
export * from './store.js';
export * from './from-config.js';
export * from './probe.js';
export * from './sdk.js';
