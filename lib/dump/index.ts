export * from './argv.js';
export * from './errors.js';
export * from './operations.js';
export * from './parse.js';
export * from './script.js';
export * from './types.js';
export * from './upload.js';
