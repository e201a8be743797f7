// Thin adapter over etcdctl (online: status, member list, snapshot save) and etcdutl (offline: snapshot status,
// snapshot restore). Every value is an argument, never a shell string. etcd < 3.5 has no etcdutl: its etcdctl
// does the offline commands too, so a missing etcdutl falls back to etcdctl.

import { spawn } from 'node:child_process';
import { TailBuffer } from '../exec/tail.js';

export interface EtcdTls {
  endpoint: string;
  caCert: string;
  cert: string;
  key: string;
}

export interface EtcdTools {
  etcdctl: string;
  etcdutl: string;
  /** Environment of the tools (PATH); defaults to this process's. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface EndpointStatus {
  version: string;
  revision: number;
  dbSize: number;
  memberId: string;
  clusterId: string;
}

export interface Member {
  /** etcd's 64-bit member id, in decimal. */
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

export interface SnapshotStatus {
  revision: number;
  totalKey: number;
  totalSize: number;
  version?: string;
}

export interface RestoreMember {
  name: string;
  initialCluster: string;
  initialAdvertisePeerUrls: string;
}

/** A tool that failed: what it was asked to do and the end of what it said. */
export class EtcdToolError extends Error {
  constructor(
    message: string,
    readonly notFound = false,
  ) {
    super(message);
    this.name = 'EtcdToolError';
  }
}

const OUTPUT_LIMIT = 4 * 1024 * 1024;

async function run(program: string, args: string[], tools: EtcdTools, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // ETCDCTL_API=3 for etcdctl 3.3 and older, whose default is the v2 API.
    const child = spawn(program, args, {
      env: { ...(tools.env ?? process.env), ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: tools.signal,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const stderr = new TailBuffer(8 * 1024);
    child.stdout.on('data', (c: Buffer) => {
      if (stdoutBytes < OUTPUT_LIMIT) stdout.push(c);
      stdoutBytes += c.length;
    });
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
    child.on('close', (code, signal) => {
      if (spawnError?.code === 'ENOENT') {
        return reject(
          new EtcdToolError(`${what}: ${program} not found (set its path or add it to PATH)`, true),
        );
      }
      if (spawnError) return reject(new EtcdToolError(`${what}: ${program}: ${spawnError.message}`));
      if (code !== 0) {
        const said = lastLines(stderr.text() || Buffer.concat(stdout).toString('utf8'));
        return reject(new EtcdToolError(`${what}: ${program} exited with ${code ?? signal}: ${said}`));
      }
      resolve(Buffer.concat(stdout).toString('utf8'));
    });
  });
}

/** The last lines of a tool's output, its JSON log lines reduced to their messages and errors. */
export function lastLines(text: string, count = 3): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      try {
        const entry = JSON.parse(line);
        return [entry.msg, entry.error].filter(Boolean).join(': ') || line;
      } catch {
        return line;
      }
    });
  return lines.slice(-count).join(' | ') || '(no output)';
}

/** etcd's 64-bit ids as strings: JSON.parse would round them. */
export function parseEtcdJson(text: string): any {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

function tlsArgs(tls: EtcdTls): string[] {
  return [
    `--endpoints=${tls.endpoint}`,
    `--cacert=${tls.caCert}`,
    `--cert=${tls.cert}`,
    `--key=${tls.key}`,
    '--dial-timeout=10s',
  ];
}

export async function endpointStatus(tls: EtcdTls, tools: EtcdTools): Promise<EndpointStatus> {
  const out = await run(
    tools.etcdctl,
    [...tlsArgs(tls), '--command-timeout=30s', 'endpoint', 'status', '-w', 'json'],
    tools,
    `etcd endpoint status of ${tls.endpoint}`,
  );
  const status = parseEtcdJson(out)[0]?.Status;
  if (!status?.header)
    throw new EtcdToolError(`etcd endpoint status of ${tls.endpoint}: no status in the answer`);
  return {
    version: String(status.version ?? ''),
    revision: Number(status.header.revision ?? 0),
    dbSize: Number(status.dbSize ?? 0),
    memberId: String(status.header.member_id ?? ''),
    clusterId: String(status.header.cluster_id ?? ''),
  };
}

export async function memberList(tls: EtcdTls, tools: EtcdTools): Promise<Member[]> {
  const out = await run(
    tools.etcdctl,
    [...tlsArgs(tls), '--command-timeout=30s', 'member', 'list', '-w', 'json'],
    tools,
    `etcd member list of ${tls.endpoint}`,
  );
  return (parseEtcdJson(out).members ?? []).map((m: any) => ({
    id: String(m.ID ?? ''),
    name: String(m.name ?? ''),
    peerURLs: (m.peerURLs ?? []).map(String),
    clientURLs: (m.clientURLs ?? []).map(String),
  }));
}

/** etcdctl writes `<file>.part` and renames it only when the whole snapshot arrived. */
export async function snapshotSave(tls: EtcdTls, file: string, tools: EtcdTools): Promise<void> {
  await run(
    tools.etcdctl,
    [...tlsArgs(tls), 'snapshot', 'save', file],
    tools,
    `etcd snapshot save from ${tls.endpoint}`,
  );
}

/** Runs an offline command with etcdutl, or with etcdctl where there is no etcdutl (etcd < 3.5). */
async function offline(args: string[], tools: EtcdTools, what: string): Promise<string> {
  try {
    return await run(tools.etcdutl, args, tools, what);
  } catch (e) {
    if (!(e instanceof EtcdToolError && e.notFound)) throw e;
    return run(tools.etcdctl, args, tools, what);
  }
}

export async function snapshotStatus(file: string, tools: EtcdTools): Promise<SnapshotStatus> {
  const out = await offline(
    ['snapshot', 'status', file, '-w', 'json'],
    tools,
    `etcd snapshot status of ${file}`,
  );
  const s = parseEtcdJson(out);
  return {
    revision: Number(s.revision),
    totalKey: Number(s.totalKey),
    totalSize: Number(s.totalSize),
    version: s.version ? String(s.version) : undefined,
  };
}

/**
 * A new data directory from a snapshot. The restore checks the SHA-256 etcdctl appended when it saved the file, so
 * a changed byte anywhere is refused (snapshot status reads only what it needs and does not notice).
 */
export async function snapshotRestore(
  file: string,
  dataDir: string,
  member: RestoreMember,
  tools: EtcdTools,
): Promise<void> {
  await offline(
    [
      'snapshot',
      'restore',
      file,
      `--data-dir=${dataDir}`,
      `--name=${member.name}`,
      `--initial-cluster=${member.initialCluster}`,
      `--initial-advertise-peer-urls=${member.initialAdvertisePeerUrls}`,
    ],
    tools,
    `etcd snapshot restore of ${file}`,
  );
}
