// Shell completion from the front door, tried in a real bash: commands complete, then each command's own flags.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionScript } from '../../lib/completion.js';
import { REPO_ROOT } from '../kit/index.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'nsbackup-completion-'));
let bashScript: string;

beforeAll(async () => {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'scripts/nsbackup.ts', 'completion', 'bash'],
    {
      cwd: REPO_ROOT,
    },
  );
  bashScript = join(dir, 'nsbackup.bash');
  writeFileSync(bashScript, stdout);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash offers after typing `words` (the last one being completed). */
async function complete(...words: string[]): Promise<string[]> {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _nsbackup; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const { stdout } = await run('bash', ['-c', script, 'bash', bashScript, 'nsbackup', ...words]);
  return stdout.split('\n').filter(Boolean);
}

describe('nsbackup completion', () => {
  it('bash completes the commands', async () => {
    expect(await complete('re')).toEqual(['retain', 'restore', 'restore-pvc', 'restore-db']);
  });

  it("bash completes a command's own flags, and only those", async () => {
    expect(await complete('backup', '--adhoc')).toEqual(['--adhoc-keep-days']);
    expect(await complete('list', '--adhoc')).toEqual([]);
    expect(await complete('restore', '--pvcs')).toEqual(['--pvcs-from-snapshots', '--pvcs-from-s3']);
  });

  it('zsh and fish get the same commands and flags', () => {
    const commands = [
      { name: 'backup', summary: "Back up a namespace's data", flags: ['--namespace', '-n'] },
    ];
    expect(completionScript('zsh', commands)).toContain('bashcompinit');
    const fish = completionScript('fish', commands);
    expect(fish).toContain(
      "complete -c nsbackup -n __fish_use_subcommand -a backup -d 'Back up a namespace\\'s data'",
    );
    expect(fish).toContain("complete -c nsbackup -n '__fish_seen_subcommand_from backup' -l namespace");
    expect(fish).toContain("complete -c nsbackup -n '__fish_seen_subcommand_from backup' -s n");
  });
});
