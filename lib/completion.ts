// `nsbackup completion bash|zsh|fish`: shell completion of the commands and their flags, generated from the same
// command list and schemas as --help, so it never lists a flag that does not exist.

export interface CompletionCommand {
  name: string;
  summary: string;
  /** Flags and aliases (`--namespace`, `-n`). */
  flags: string[];
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const FRONT_DOOR = ['--help', '--version'];

function bash(commands: readonly CompletionCommand[]): string {
  const names = [...commands.map((c) => c.name), 'completion'].join(' ');
  const cases = commands
    .map((c) => `    ${c.name}) words="${[...c.flags, '--help'].join(' ')}" ;;`)
    .join('\n');
  return `# nsbackup completion for bash: source <(nsbackup completion bash)
_nsbackup() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names} ${FRONT_DOOR.join(' ')}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
    completion) words="${SHELLS.join(' ')}" ;;
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _nsbackup nsbackup
`;
}

function zsh(commands: readonly CompletionCommand[]): string {
  // zsh runs the bash function through its bashcompinit layer: one definition of what completes.
  return `# nsbackup completion for zsh: source <(nsbackup completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(commands)}`;
}

function fish(commands: readonly CompletionCommand[]): string {
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [
    '# nsbackup completion for fish: nsbackup completion fish | source',
    'complete -c nsbackup -f',
  ];
  for (const c of commands)
    lines.push(`complete -c nsbackup -n __fish_use_subcommand -a ${c.name} -d ${quote(c.summary)}`);
  lines.push(`complete -c nsbackup -n __fish_use_subcommand -a completion -d ${quote('Shell completion')}`);
  for (const c of commands) {
    for (const flag of c.flags) {
      const option = flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`;
      lines.push(`complete -c nsbackup -n '__fish_seen_subcommand_from ${c.name}' ${option}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function completionScript(shell: Shell, commands: readonly CompletionCommand[]): string {
  return { bash, zsh, fish }[shell](commands);
}
