// The test kit's front door: the local services and fixtures that the tests, the demo and the benches start. Code
// outside test/kit imports this file only (test/foundation/layout.test.ts checks it).
export { freePort } from './ports.js';
export { PG_BIN, startPostgres, type LocalPostgres } from './postgres.js';
export { startMariaDb, type LocalMariaDb } from './mariadb.js';
export { startRedis, type LocalRedis } from './redis.js';
export { startS3, TEST_S3_CREDENTIALS, type LocalS3 } from './s3.js';
export { startEtcd, type EtcdServer, type EtcdServerOptions } from './etcd-server.js';
export { makeKubeadmPki } from './kubeadm-pki.js';
export * from './helm.js';
export { runNsbackup, until, type CommandRun } from './commands.js';
export * from './snapshots.js';
