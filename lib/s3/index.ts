export * from './settings.js';
export * from './store.js';
