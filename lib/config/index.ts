export * from './settings.js';
export * from './load.js';
export * from './docs.js';
export * from './known-variables.js';
