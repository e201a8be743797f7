// The AWS SDK's S3 client, loaded on first use. It is a megabyte of code that Node reads and compiles in about
// 40 ms: commands that never reach S3 (list, status, a backup without NSBACKUP_S3_BUCKET) must not pay for it, so
// nothing in lib/ imports '@aws-sdk/client-s3' other than as types; the bundle keeps it in a chunk of its own.

import type { S3Client } from '@aws-sdk/client-s3';

export type S3Sdk = typeof import('@aws-sdk/client-s3');

/** A store's client with the SDK it came from (whose command classes build its requests). */
export interface S3Connection {
  client: S3Client;
  sdk: S3Sdk;
}

let loading: Promise<S3Sdk> | undefined;

/**
 * The package is CommonJS: in the bundle its chunk has only a default export (module.exports); Node's own loader
 * also guesses the named ones. The default when it holds the client, else the namespace.
 */
export function loadS3Sdk(): Promise<S3Sdk> {
  loading ??= import('@aws-sdk/client-s3').then((m) => {
    const exports = (m as unknown as { default?: S3Sdk }).default;
    return exports?.S3Client ? exports : m;
  });
  return loading;
}
