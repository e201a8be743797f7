/**
 * The pure core of resource export and restore, plus the archive format and its encryption.
 * I/O adapters (listing a namespace, uploading, creating objects) call these functions.
 */
export * from './types.js';
export * from './resource-info.js';
export * from './canonical.js';
export * from './service-ports.js';
export * from './exclusions.js';
export * from './label-selector.js';
export * from './preferences.js';
export * from './order.js';
export * from './quantity.js';
export * from './transform.js';
export * from './backup-files.js';
export * from './manifest.js';
export * from './outcome.js';
export * from './archive.js';
export * from './export-layout.js';
export * from './diff.js';
export * from './plan.js';
