// Pure: reads the tab-separated report lines DB_SCRIPT prints on stdout.
import type { DumpFile } from './types.js';

export interface ScriptReport {
  versions: { tool: string; version: string }[];
  disk?: { usedPercent: number; thresholdPercent: number };
  files: DumpFile[];
  /** existing-globals: the server's roles and tablespaces. */
  roles: string[];
  tablespaces: string[];
  /** existing-globals: role memberships, [role, member]. */
  memberships: [string, string][];
}

const fromHex = (hex: string | undefined) => Buffer.from(hex ?? '', 'hex').toString('utf8');

export function parseScriptOutput(stdout: string): ScriptReport {
  const report: ScriptReport = { versions: [], files: [], roles: [], tablespaces: [], memberships: [] };
  for (const line of stdout.split('\n')) {
    const fields = line.split('\t');
    switch (fields[0]) {
      case 'nsbackup-version':
        report.versions.push({ tool: fields[1], version: fields.slice(2).join('\t').trim() });
        break;
      case 'nsbackup-disk':
        report.disk = { usedPercent: Number(fields[1]), thresholdPercent: Number(fields[2]) };
        break;
      case 'nsbackup-role':
        report.roles.push(fromHex(fields[1]));
        break;
      case 'nsbackup-tablespace':
        report.tablespaces.push(fromHex(fields[1]));
        break;
      case 'nsbackup-member':
        report.memberships.push([fromHex(fields[1]), fromHex(fields[2])]);
        break;
      case 'nsbackup-file': {
        const [, size, sha256, path, ...database] = fields;
        report.files.push({
          path,
          database: database.join('\t'),
          sizeBytes: Number(size),
          sha256: /^[0-9a-f]{64}$/.test(sha256 ?? '') ? sha256 : undefined,
        });
        break;
      }
    }
  }
  return report;
}
