// A local S3 (s3rver) on 127.0.0.1 for tests and the demo.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3Store } from '../../lib/s3/index.js';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** Environment for a child process / runCommand. */
  env: Record<string, string>;
  store(prefix?: string): S3Store;
  close(): Promise<void>;
}

export const TEST_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startS3(bucket = 'backups'): Promise<LocalS3> {
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      NSBACKUP_S3_BUCKET: bucket,
      NSBACKUP_S3_ENDPOINT: endpoint,
      NSBACKUP_S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
    },
    store: (prefix = 'nsbackup') =>
      new S3Store(
        { bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true },
        TEST_S3_CREDENTIALS,
      ),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
