/**
 * Resource export: discovery, listing a namespace into canonical objects, the archive upload to S3 with its
 * manifest, the export folder, the outcome of a backup run, and finding the latest backup whose run succeeded.
 * The pure rules are in lib/resources.
 */
export * from './discovery.js';
export * from './collect.js';
export * from './settings.js';
export * from './s3-export.js';
export * from './dir-export.js';
export * from './live.js';
export * from './backup-step.js';
export * from './latest.js';
