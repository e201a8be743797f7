// Pure: reads the tab-separated report lines DB_SCRIPT prints on stdout.
import type { DumpFile } from './types.js';

export interface ScriptReport {
  versions: { tool: string; version: string }[];
  disk?: { usedPercent: number; thresholdPercent: number };
  files: DumpFile[];
}

export function parseScriptOutput(stdout: string): ScriptReport {
  const report: ScriptReport = { versions: [], files: [] };
  for (const line of stdout.split('\n')) {
    const fields = line.split('\t');
    switch (fields[0]) {
      case 'nsbackup-version':
        report.versions.push({ tool: fields[1], version: fields.slice(2).join('\t').trim() });
        break;
      case 'nsbackup-disk':
        report.disk = { usedPercent: Number(fields[1]), thresholdPercent: Number(fields[2]) };
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
