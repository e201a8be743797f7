// A local S3 (s3rver) on 127.0.0.1 for tests and the demo.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { S3Store } from '../../lib/s3/index.js';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** Environment for a child process / runCommand. */
  env: Record<string, string>;
  /** With tls: the PEM file of the self-signed certificate (NSBACKUP_S3_CA_FILE, restic's --cacert). */
  caFile?: string;
  store(prefix?: string): S3Store;
  close(): Promise<void>;
}

export const TEST_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * With `tls`, over HTTPS with a self-signed certificate made by openssl: restic needs it (over plain HTTP s3rver
 * stores restic's aws-chunked uploads with their framing, and the next command fails).
 */
export async function startS3(bucket = 'backups', opts: { tls?: boolean } = {}): Promise<LocalS3> {
  const dir = mkdtempSync(join(tmpdir(), 'nsbackup-s3-'));
  mkdirSync(join(dir, 'data'));
  let tlsFiles: { key: Buffer; cert: Buffer } | undefined;
  let caFile: string | undefined;
  if (opts.tls) {
    caFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        caFile,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    tlsFiles = { key: readFileSync(keyFile), cert: readFileSync(caFile) };
  }
  const server = new S3rver({
    ...tlsFiles,
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dir, 'data'),
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      NSBACKUP_S3_BUCKET: bucket,
      NSBACKUP_S3_ENDPOINT: endpoint,
      NSBACKUP_S3_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
      ...(caFile ? { NSBACKUP_S3_CA_FILE: caFile } : {}),
    },
    caFile,
    store: (prefix = 'nsbackup') =>
      new S3Store(
        { bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true, caFile },
        TEST_S3_CREDENTIALS,
      ),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
