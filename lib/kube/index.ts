export * from './client.js';
export * from './errors.js';
export * from './paths.js';
export * from './retry.js';
export * from './settings.js';
export * from './connect.js';
export * from './kubeconfig.js';
