// Checks an S3 store before a run writes anything anywhere: a wrong bucket, region, endpoint or key found only
// after the snapshots were taken costs a night's backup and leaves snapshots whose backup failed.

import { ExitCode, JobError } from '../exit.js';
import type { S3Store } from './store.js';

/** The probe object, one per namespace folder, overwritten by each run (never a backup folder of its own). */
export const PROBE_FILE = '.nsbackup-write-check';

/** A store that does not answer within this is as good as a wrong endpoint. */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Asks for the bucket (HeadBucket: it exists and answers, the credentials are accepted, the region fits) and, with
 * `write`, stores a small probe object in `folderKey` (writable). A dry run reads only. Any failure is a
 * configuration error (exit 2) naming the settings; nothing was written anywhere.
 */
export async function probeStore(
  store: S3Store,
  folderKey: string,
  opts: { write: boolean; now: Date },
): Promise<void> {
  const { bucket } = store.location;
  let step = `reaching bucket ${bucket}`;
  try {
    const { client, sdk } = await store.connect();
    await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }), {
      abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (opts.write) {
      step = `writing s3://${bucket}/${folderKey}${PROBE_FILE}`;
      await withTimeout(
        store.upload(
          `${folderKey}${PROBE_FILE}`,
          JSON.stringify({ checkedAt: opts.now.toISOString() }),
          'application/json',
        ),
      );
    }
  } catch (e) {
    throw new JobError(
      `the S3 store is not usable (${describeStore(store)}): ${step} failed: ${errorText(e)}; ` +
        'check NSBACKUP_S3_BUCKET, NSBACKUP_S3_REGION, NSBACKUP_S3_ENDPOINT and the credentials. Nothing was written',
      ExitCode.badConfig,
    );
  }
}

async function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000}s`)),
      PROBE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bucket, region and the endpoint's origin only (a URL could carry credentials). */
function describeStore(store: S3Store): string {
  const { bucket, region, endpoint } = store.location;
  let origin = 'AWS';
  if (endpoint) {
    try {
      origin = new URL(endpoint).origin;
    } catch {
      origin = 'an unreadable endpoint';
    }
  }
  return `bucket ${bucket}, region ${region}, endpoint ${origin}`;
}

/** HeadBucket answers without a body: its status is all there is to say. */
const STATUS_MEANS: Record<number, string> = {
  301: 'the bucket is in another region',
  400: 'the request was refused (a wrong region?)',
  403: 'access denied',
  404: 'no such bucket',
};

function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  const meaning = status && STATUS_MEANS[status];
  const message = err.message && err.message !== 'UnknownError' ? err.message : '';
  return `${name}${[meaning, message].filter(Boolean).join(': ') || 'unknown error'}${status ? ` (HTTP ${status})` : ''}`;
}
