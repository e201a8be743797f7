// The backup flow (`nsbackup backup`): settings, plan, steps and the adapters they are built from.
export * from './backup-type.js';
export * from './checks.js';
export * from './database.js';
export * from './flow.js';
export * from './hooks.js';
export * from './notify.js';
export * from './outcome.js';
export * from './plan.js';
export * from './run-hooks.js';
export * from './s3-step.js';
export * from './ports.js';
export * from './settings.js';
export * from './snapshot-labels.js';
export * from '../exec/target.js';
