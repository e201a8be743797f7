// Where backups go in S3. Credentials come from the standard AWS_* variables (or the instance/IRSA chain).

import { bool, str } from '../config/index.js';

export const s3Settings = {
  s3Bucket: str({
    env: 'NSBACKUP_S3_BUCKET',
    // S3's rules for bucket names: 3 to 63 lowercase letters, digits, dots and hyphens, a letter or digit at each
    // end, no two dots in a row, not shaped like an IP address. Refused here, not after the snapshots.
    pattern: /^(?!\d{1,3}(\.\d{1,3}){3}$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    patternText: 'an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens)',
    invalid: ['Backups', 'my_bucket', 'ab', 'a..b', '192.168.1.1', '-backups'],
    description: 'S3 bucket for resource exports and dumps. Empty: nothing is stored in S3.',
  }),
  s3Prefix: str({
    env: 'NSBACKUP_S3_PREFIX',
    default: 'nsbackup',
    pattern: /^[A-Za-z0-9._\-/]*$/,
    patternText: 'a key prefix of letters, digits, . _ - /',
    description: 'Key prefix; objects go to <prefix>/<cluster>/<namespace>/<backup id>/.',
  }),
  s3Endpoint: str({
    env: 'NSBACKUP_S3_ENDPOINT',
    pattern: /^https?:\/\/[^\s]+$/,
    patternText: 'an http(s) URL',
    description:
      'Custom S3 endpoint (MinIO, Ceph, R2, ...). Empty: AWS. Custom endpoints use path-style addressing.',
  }),
  s3Region: str({
    env: 'NSBACKUP_S3_REGION',
    pattern: /^[a-z0-9][a-z0-9-]{0,62}$/,
    patternText: 'a region name such as eu-central-1',
    invalid: ['EU Central'],
    default: (env) => env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    defaultText: '$AWS_REGION or us-east-1',
    description: 'S3 region.',
  }),
  s3CaFile: str({
    env: 'NSBACKUP_S3_CA_FILE',
    pattern: /^\/\S*$/,
    patternText: 'an absolute path',
    defaultText: "the system's trusted CAs",
    description:
      "PEM file of the CA that signed the S3 endpoint's certificate (a private MinIO or Ceph); trusted by nsbackup " +
      'and by restic, also in the mover Jobs.',
  }),
  s3ForcePathStyle: bool({
    env: 'NSBACKUP_S3_FORCE_PATH_STYLE',
    default: (env) => Boolean(env.NSBACKUP_S3_ENDPOINT),
    defaultText: 'true when NSBACKUP_S3_ENDPOINT is set',
    description: 'Path-style bucket addressing.',
  }),
};

export interface S3Location {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** PEM file of a private CA to trust. */
  caFile?: string;
}

export function s3LocationFrom(config: {
  s3Bucket: string;
  s3Prefix: string;
  s3Endpoint: string;
  s3Region: string;
  s3ForcePathStyle: boolean;
  s3CaFile?: string;
}): S3Location | undefined {
  if (!config.s3Bucket) return undefined;
  return {
    bucket: config.s3Bucket,
    prefix: config.s3Prefix.replace(/^\/+|\/+$/g, ''),
    endpoint: config.s3Endpoint || undefined,
    region: config.s3Region,
    forcePathStyle: config.s3ForcePathStyle,
    ...(config.s3CaFile ? { caFile: config.s3CaFile } : {}),
  };
}
