// The shell programs that run inside the DATABASE container (so that pg_dump/mysqldump match the server's
// version, and a dump command finds the application's own tools). Each is one constant string: every value that
// comes from the user (database names, user, host, dump directory, the name of a password variable, a command's
// argv) reaches it only as a positional argument, and the password only on stdin or through `printenv NAME`.
// Nothing is ever eval'ed or spliced into a command string.
//
//   sh -c "$PROGRAM" nsbackup ACTION KIND PW_SOURCE PW_VAR USER HOST PORT DIR THRESHOLD [ARGS...]
//   sh -c "$PROGRAM" nsbackup ACTION command PW_SOURCE PW_VAR '' '' '' DIR THRESHOLD PW_EXPORT [ARGS...]
//
//   ACTION     check | dump | stream | cat | restore | check-restore; PostgreSQL also globals | existing-globals |
//              restore-globals
//   KIND       postgres | mysql | command
//   PW_SOURCE  stdin (first line of stdin) | env (variable named PW_VAR) | none
//   USER/HOST/PORT  '' for the client's default (in a database container: the local socket)
//   DIR        the dump directory (check, dump, cat); THRESHOLD the highest allowed used% of its disk
//   ARGS       check/dump/stream: database names (postgres: none = every connectable database; mysql: none =
//              --all-databases); cat: one dump file inside DIR; restore and check-restore: SOURCE (a file path,
//              or - for stdin after the password) and DATABASE; globals: passwords | no-passwords;
//              existing-globals and restore-globals: the DATABASE to connect to
//   PW_EXPORT  command: the variable the user's command gets the password in ('' without a password). Its ARGS:
//              check/dump: NAME (of the dump) and the command's argv; stream: the argv; restore and
//              check-restore: SOURCE and the argv; cat: the file. The argv runs as "$@".
//
// Output: tab-separated lines on stdout, `nsbackup-version TOOL VERSION`, `nsbackup-disk USED THRESHOLD`,
// `nsbackup-file SIZE SHA256 PATH DATABASE`; in stream and cat mode stdout is the gzip stream itself. Failures: one
// line `nsbackup: MESSAGE` on stderr and an exit code naming the step (see DumpStep in errors.ts).
//
// `check` and `check-restore` create nothing (dry runs run them): a missing dump directory only needs a writable
// nearest ancestor. `dump` creates the directory, then writes each file to a temporary name of its own
// (`.<base>.sql.gz.<pid>.partial`, `.<name>.dump.gz.<pid>.partial`), so an overlapping run, or an orphaned dump
// still running after its exec closed, never shares or removes it.
//
// A pipeline's status is that of its last command and POSIX sh has no pipefail, so the dump's own exit status
// is written to file descriptor 3, which is captured by $( ): `rc=$( { { dump; echo $? >&3; } | gzip; } 3>&1 )`.
//
// Each run gets the program of its kind and action only (`dumpScript`): the prelude (arguments, password, traps),
// the kind's tools, the file handling (directory, disk, atomic replacement) or the pipes (stream, restore) when the
// action needs them, and that action's branch. The program travels in the exec URL's query (one `command`
// parameter), which servers limit in size (an HTTP server's 16 KiB of headers): one program for every kind and
// action would not fit.

// Whole-line comments, indentation and blank lines are dropped on the way (no line of it continues a string).
export const compactScript = (program: string): string =>
  program
    .split('\n')
    .map((line) => line.trimStart())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n') + '\n';

/** Arguments, traps, the password: the start of both programs. */
const PRELUDE = String.raw`
set -u
set -f
NSB_ACTION=$1 NSB_KIND=$2 NSB_PW_SOURCE=$3 NSB_PW_VAR=$4 NSB_USER=$5 NSB_HOST=$6 NSB_PORT=$7 NSB_DIR=$8 NSB_THRESHOLD=$9
shift 9
NSB_TMP=
NSB_GLOBALS=

fail() {
  code=$1
  shift
  printf 'nsbackup: %s\n' "$*" >&2
  exit "$code"
}
cleanup() {
  if [ -n "$NSB_TMP" ]; then rm -f -- "$NSB_TMP"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

case $NSB_THRESHOLD in '' | *[!0-9]*) fail 2 'the disk threshold must be a whole number' ;; esac
case $NSB_PORT in *[!0-9]*) fail 2 'the port must be a number' ;; esac

# The password: never in argv (visible in the API server's audit log and in ps), never eval'ed.
NSB_PW=
case $NSB_PW_SOURCE in
  stdin)
    IFS= read -r NSB_PW || [ -n "$NSB_PW" ] || fail 2 'expected the password on stdin'
    ;;
  env)
    case $NSB_PW_VAR in
      '' | [0-9]* | *[!A-Za-z0-9_]*) fail 2 'the password variable name must match [A-Za-z_][A-Za-z0-9_]*' ;;
    esac
    NSB_PW=$(printenv "$NSB_PW_VAR") || fail 2 "the container has no environment variable $NSB_PW_VAR"
    ;;
  none) ;;
  *) fail 2 "unknown password source $NSB_PW_SOURCE" ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }
`;

/** PostgreSQL and MySQL/MariaDB: their clients, the server check, the dump and restore commands. */
const SQL_TOOLS = String.raw`
case $NSB_KIND in postgres | mysql) ;; *) fail 2 "unknown database kind $NSB_KIND" ;; esac
NSB_EXT=.sql.gz

if [ "$NSB_KIND" = postgres ]; then
  if [ -n "$NSB_PW" ]; then export PGPASSWORD="$NSB_PW"; fi
  if [ -n "$NSB_USER" ]; then export PGUSER="$NSB_USER"; fi
  if [ -n "$NSB_HOST" ]; then export PGHOST="$NSB_HOST"; fi
  if [ -n "$NSB_PORT" ]; then export PGPORT="$NSB_PORT"; fi
else
  if [ -n "$NSB_PW" ]; then export MYSQL_PWD="$NSB_PW"; fi
fi
NSB_PW=

# mysql tools take user, host and port only as options (mysqldump ignores MYSQL_HOST); each is one --opt=value
# word, so a value can never become an option of its own. set -- inside a function only changes its arguments.
my_run() {
  tool=$1
  shift
  if [ -n "$NSB_PORT" ]; then set -- --port="$NSB_PORT" "$@"; fi
  if [ -n "$NSB_HOST" ]; then set -- --host="$NSB_HOST" "$@"; fi
  if [ -n "$NSB_USER" ]; then set -- --user="$NSB_USER" "$@"; fi
  "$tool" "$@"
}

find_tools() {
  have gzip || fail 10 'gzip not found in the container'
  if [ "$NSB_KIND" = postgres ]; then
    have pg_dump || fail 10 'pg_dump not found in the container'
    have psql || fail 10 'psql not found in the container'
    NSB_DUMP=pg_dump NSB_CLIENT=psql
  else
    if have mariadb-dump; then NSB_DUMP=mariadb-dump; elif have mysqldump; then NSB_DUMP=mysqldump; else
      fail 10 'neither mariadb-dump nor mysqldump found in the container'
    fi
    if have mariadb; then NSB_CLIENT=mariadb; elif have mysql; then NSB_CLIENT=mysql; else
      fail 10 'neither the mariadb nor the mysql client found in the container'
    fi
  fi
}

print_versions() {
  for t in "$NSB_DUMP" "$NSB_CLIENT" gzip; do
    printf 'nsbackup-version\t%s\t%s\n' "$t" "$("$t" --version 2>&1 | head -n 1)"
  done
}

# Writes the plain SQL of one database (postgres) or of the listed/all databases (mysql) to stdout.
# PostgreSQL: plain format with --clean --if-exists, restorable with psql into an existing database. The name
# goes in PGDATABASE, which libpq never parses as a connection string (a -d argument with = in it would be).
run_dump() {
  if [ "$NSB_GLOBALS" = passwords ]; then
    pg_dumpall --globals-only --no-password
  elif [ -n "$NSB_GLOBALS" ]; then
    pg_dumpall --globals-only --no-role-passwords --no-password
  elif [ "$NSB_KIND" = postgres ]; then
    PGDATABASE=$1 pg_dump --format=plain --clean --if-exists --no-password
  elif [ $# -eq 0 ]; then
    my_run "$NSB_DUMP" --single-transaction --routines --triggers --events --hex-blob --all-databases
  else
    my_run "$NSB_DUMP" --single-transaction --routines --triggers --events --hex-blob --databases "$@"
  fi
}


# restore_client: psql (one transaction, stop at the first error) or the mysql client, reading the SQL on stdin.
restore_client() {
  if [ "$NSB_KIND" = postgres ]; then
    PGDATABASE=$db psql -X -q -w -v ON_ERROR_STOP=1 --single-transaction >/dev/null
  elif [ -n "$db" ]; then
    my_run "$NSB_CLIENT" --database="$db" >/dev/null
  else
    my_run "$NSB_CLIENT" >/dev/null
  fi
}
`;

/** PostgreSQL and MySQL/MariaDB: does the server answer, is there room for each dump (check, check-restore). */
const SQL_CHECKS = String.raw`
check_server() {
  if [ "$NSB_KIND" = postgres ]; then
    if [ $# -gt 0 ] && [ -n "$1" ]; then db=$1; else db=postgres; fi
    out=$(PGDATABASE=$db psql -X -A -t -w -c 'SELECT 1' 2>&1)
  else
    out=$(my_run "$NSB_CLIENT" --batch --skip-column-names -e 'SELECT 1' 2>&1)
  fi
  [ "$out" = 1 ] || fail 11 "the database server does not answer SELECT 1: $(printf '%s\n' "$out" | tail -n 3)"
}

# check_rooms [DATABASE...]: check_room for every dump file the arguments name (postgres without names: the
# list is only known when dumping, where dump_to_file checks each file).
check_rooms() {
  if [ "$NSB_KIND" = mysql ]; then
    if [ $# -eq 0 ]; then check_room all-databases; else check_room databases; fi
  else
    for db in "$@"; do check_room "$(file_base "$db")"; done
  fi
}
`;

/** Kind command: the user's argv does the dump (stdout) and the restore (stdin); its password in PW_EXPORT. */
const COMMAND_TOOLS = String.raw`
case $NSB_KIND in command) ;; *) fail 2 "unknown kind $NSB_KIND for a command" ;; esac
NSB_EXT=.dump.gz

# The user's command reads its password from a variable of its own (REDISCLI_AUTH, ...), named by PW_EXPORT.
[ $# -ge 1 ] || fail 2 'a command needs the name of its password variable (may be empty)'
NSB_PW_EXPORT=$1
shift
case $NSB_PW_EXPORT in
  '') [ -z "$NSB_PW" ] || fail 2 'a password for a command needs the name of the variable to pass it in' ;;
  [0-9]* | *[!A-Za-z0-9_]*) fail 2 'the command password variable name must match [A-Za-z_][A-Za-z0-9_]*' ;;
  *) if [ -n "$NSB_PW" ]; then export "$NSB_PW_EXPORT=$NSB_PW"; fi ;;
esac
NSB_PW=

# find_tools COMMAND: gzip and the user's command (its argv[0], a name on PATH or a path).
find_tools() {
  have gzip || fail 10 'gzip not found in the container'
  { [ $# -ge 1 ] && [ -n "$1" ]; } || fail 2 'the command is empty'
  case $1 in -*) fail 2 "the command must not start with -: $1" ;; esac
  have "$1" || fail 10 "the command $1 was not found in the container"
  NSB_CLIENT=$1
}

# An arbitrary command may not know --version (or do something else with it): where it was found instead.
print_versions() {
  printf 'nsbackup-version\t%s\t%s\n' "$NSB_CLIENT" "$(command -v "$NSB_CLIENT")"
  printf 'nsbackup-version\tgzip\t%s\n' "$(gzip --version 2>&1 | head -n 1)"
}

# The dump is the command's stdout. It gets no stdin (the exec's is the password line).
run_dump() {
  "$@" </dev/null
}

# The restore command reads the dump on stdin; its output goes to stderr, so its last lines are in an error.
restore_client() {
  "$@" >&2
}
`;

/** The dump directory, its disk, and files written beside the previous dump and renamed over it when verified. */
const FILES = String.raw`
# check: creates nothing. The directory exists and is writable, or the nearest existing ancestor is a writable
# directory (the dump creates the missing levels). Sets NSB_DF_DIR, the path df measures.
check_dir() {
  case $NSB_DIR in /*) ;; *) fail 12 "the dump directory must be an absolute path: $NSB_DIR" ;; esac
  if [ -e "$NSB_DIR" ]; then
    { [ -d "$NSB_DIR" ] && [ -w "$NSB_DIR" ]; } || fail 12 "the dump directory $NSB_DIR is not writable"
    NSB_DF_DIR=$NSB_DIR
    return 0
  fi
  up=$NSB_DIR
  while [ ! -e "$up" ]; do up=$(dirname -- "$up"); done
  { [ -d "$up" ] && [ -w "$up" ]; } ||
    fail 12 "cannot create the dump directory $NSB_DIR: $up is not a writable directory"
  NSB_DF_DIR=$up
}

# dump: the directory must exist from here on.
make_dir() {
  check_dir
  mkdir -p -- "$NSB_DIR" 2>/dev/null || fail 12 "cannot create the dump directory $NSB_DIR"
  { [ -d "$NSB_DIR" ] && [ -w "$NSB_DIR" ]; } || fail 12 "the dump directory $NSB_DIR is not writable"
  NSB_DF_DIR=$NSB_DIR
}

# read_df PATH: NSB_USED (percent) and NSB_AVAIL_KB (df -P column 4, 1024-byte blocks) of PATH's file system.
read_df() {
  where=$1
  line=$(df -P -- "$where" 2>&1 | tail -n 1)
  set -- $line
  NSB_USED= NSB_AVAIL_KB=
  if [ $# -ge 5 ]; then
    NSB_AVAIL_KB=$4
    NSB_USED=$(printf '%s' "$5" | tr -d '%')
  fi
  case $NSB_USED in '' | *[!0-9]*) fail 13 "cannot read the disk usage of $where from df -P: $line" ;; esac
  case $NSB_AVAIL_KB in '' | *[!0-9]*) fail 13 "cannot read the free space of $where from df -P: $line" ;; esac
}

check_disk() {
  read_df "$NSB_DF_DIR"
  printf 'nsbackup-disk\t%s\t%s\n' "$NSB_USED" "$NSB_THRESHOLD"
  [ "$NSB_USED" -lt "$NSB_THRESHOLD" ] ||
    fail 13 "the disk of the dump directory $NSB_DIR is $NSB_USED% used, at or over the threshold of $NSB_THRESHOLD%"
}

# check_room BASE: the new dump is written beside the previous BASE$NSB_EXT until it is verified and renamed over
# it, so the disk must have at least the previous dump's size free (the best guess of the new one's size).
check_room() {
  prev="$NSB_DIR/$1$NSB_EXT"
  [ -f "$prev" ] || return 0
  need=$(wc -c <"$prev" | tr -d ' ')
  read_df "$NSB_DIR"
  [ "$((NSB_AVAIL_KB * 1024))" -ge "$need" ] ||
    fail 13 "the dump directory $NSB_DIR has $NSB_AVAIL_KB KiB free, less than the $(((need + 1023) / 1024)) KiB of the previous dump $prev (the new dump is written beside it until it replaces it)"
}

sha_of() {
  if have sha256sum; then
    sha256sum -- "$1" | cut -d ' ' -f 1
  elif have openssl; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    printf ''
  fi
}

file_base() {
  printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'
}

# is_alive PID: the process still runs (in the container's PID namespace). /proc first: kill -0 also fails for a
# live process of another user.
is_alive() {
  if [ -d /proc/self ]; then [ -d "/proc/$1" ]; else kill -0 "$1" 2>/dev/null; fi
}

# remove_stale_partials BASE: temporary files of runs that were killed before their cleanup (SIGKILL) would pile up
# on the disk; remove those whose process is gone. A live one belongs to an overlapping run: left alone.
remove_stale_partials() {
  set +f
  for f in "$NSB_DIR/.$1$NSB_EXT."*.partial; do
    [ -f "$f" ] || continue
    pid=$(printf '%s' "$f" | sed 's/[.]partial$//; s/.*[.]//')
    case $pid in '' | *[!0-9]*) continue ;; esac
    if ! is_alive "$pid"; then rm -f -- "$f"; fi
  done
  set -f
}

# dump_to_file BASE LABEL [DATABASE...]: temp file of this run, verified, then renamed over the previous dump.
dump_to_file() {
  base=$1 label=$2
  shift 2
  final="$NSB_DIR/$base$NSB_EXT"
  remove_stale_partials "$base"
  check_room "$base"
  NSB_TMP="$NSB_DIR/.$base$NSB_EXT.$$.partial"
  rc=$({ { run_dump "$@" 3>&-; echo $? >&3; } | gzip -c >"$NSB_TMP" 3>&-; } 3>&1)
  gz=$?
  [ "$rc" = 0 ] || fail 14 "the dump of $label failed (exit code $rc)"
  [ "$gz" = 0 ] || fail 14 "gzip failed while writing the dump of $label (exit code $gz)"
  gzip -t -- "$NSB_TMP" 2>/dev/null || fail 15 "the dump of $label is not a valid gzip file"
  n=$(gzip -dc -- "$NSB_TMP" | head -c 1 | wc -c)
  [ "$n" -gt 0 ] || fail 15 "the dump of $label is empty"
  # The volume snapshot that follows copies blocks, not the page cache: flush before and after the rename.
  sync -- "$NSB_TMP" 2>/dev/null || sync
  mv -f -- "$NSB_TMP" "$final" || fail 15 "cannot rename the verified dump of $label to $final"
  NSB_TMP=
  sync -f -- "$final" 2>/dev/null || sync
  size=$(wc -c <"$final" | tr -d ' ')
  printf 'nsbackup-file\t%s\t%s\t%s\t%s\n' "$size" "$(sha_of "$final")" "$final" "$label"
}

`;

/** Dumps streamed out and restores streamed in. */
const PIPES = String.raw`
# stream_dump [ARGS...]: run_dump through gzip to stdout (fd 4), the dump's status on fd 3.
stream_dump() {
  exec 4>&1
  rc=$({ { run_dump "$@" 3>&- 4>&-; echo $? >&3; } | gzip -c >&4 3>&- 4>&-; } 3>&1)
  gz=$?
  [ "$rc" = 0 ] || fail 14 "the dump failed (exit code $rc)"
  [ "$gz" = 0 ] || fail 14 "gzip failed (exit code $gz)"
}

# restore_from SOURCE [ARGS...]: the dump, decompressed, into restore_client ARGS.
restore_from() {
  src=$1
  shift
  rc=$({ { if [ "$src" = - ]; then gzip -dc; else gzip -dc -- "$src"; fi; echo $? >&3; } |
    restore_client "$@" 3>&-; } 3>&1)
  client=$?
  # The client first: when it stops on an error, gzip dies of SIGPIPE, which is not the cause.
  [ "$client" = 0 ] || fail 16 "$NSB_CLIENT failed to restore the dump (exit code $client)"
  [ "$rc" = 0 ] || fail 16 "the dump could not be decompressed (gzip exit code $rc)"
}

# check_source SOURCE: a file in the container must be readable (- is stdin).
check_source() {
  if [ "$1" != - ] && [ ! -r "$1" ]; then fail 16 "cannot read the dump file $1"; fi
}

`;

/** An action's branch of the `case`, and the parts of the program it calls. */
interface Action {
  parts: ('checks' | 'files' | 'pipes')[];
  branch: string;
}

/** The verified dump file byte for byte (for the upload to S3): the same for every kind. */
const CAT: Action = {
  parts: [],
  branch: String.raw`
  cat)
    # The verified dump file byte for byte (the upload to S3 then holds what the snapshot holds). Only a file
    # directly in the dump directory: this action is no general file reader.
    [ $# -eq 1 ] || fail 2 'cat needs one dump file'
    case $1 in
      "$NSB_DIR"/*/* | "$NSB_DIR"/.*) fail 2 "not a dump file in $NSB_DIR: $1" ;;
      "$NSB_DIR"/?*) ;;
      *) fail 2 "not a dump file in $NSB_DIR: $1" ;;
    esac
    # A file that is not there (17) is told apart from one that cannot be read (15): an optional file (the globals
    # beside a dump) may be absent, never unreadable.
    [ -e "$1" ] || fail 17 "the dump file $1 is missing"
    { [ -f "$1" ] && [ -r "$1" ]; } || fail 15 "the dump file $1 is not a readable file"
    exec cat -- "$1"
    ;;
`,
};

const SQL_RESTORE: Action = {
  parts: ['checks', 'pipes'],
  branch: String.raw`
  restore | check-restore)
    find_tools
    [ $# -eq 2 ] && [ -n "$1" ] || fail 2 'restore needs a source (a file or -) and a database (may be empty)'
    src=$1 db=$2
    check_source "$src"
    [ "$NSB_KIND" = mysql ] || [ -n "$db" ] || fail 2 'restoring a PostgreSQL dump needs a database'
    if [ "$NSB_ACTION" = check-restore ]; then
      print_versions
      check_server "$db"
      exit 0
    fi
    restore_from "$src"
    ;;
`,
};

const SQL_ACTIONS = {
  check: {
    parts: ['checks', 'files'],
    branch: String.raw`
  check)
    find_tools
    print_versions
    check_server "$@"
    check_dir
    check_disk
    if [ "$NSB_DF_DIR" = "$NSB_DIR" ]; then check_rooms "$@"; fi
    ;;
`,
  },
  dump: {
    parts: ['files'],
    branch: String.raw`
  dump)
    find_tools
    make_dir
    check_disk
    if [ "$NSB_KIND" = postgres ]; then
      if [ $# -eq 0 ]; then
        list=$(psql -X -A -t -w -d postgres -c 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1' 2>&1) ||
          fail 11 "cannot list the databases: $list"
        IFS='
'
        set -- $list
        unset IFS
      fi
      for db in "$@"; do
        [ -n "$db" ] || fail 2 'empty database name'
        dump_to_file "$(file_base "$db")" "$db" "$db"
      done
    elif [ $# -eq 0 ]; then
      dump_to_file all-databases all-databases
    else
      for db in "$@"; do
        case $db in '' | -*) fail 2 'a database name must not be empty or start with -' ;; esac
      done
      dump_to_file databases "$*" "$@"
    fi
    ;;
`,
  },
  stream: {
    parts: ['pipes'],
    branch: String.raw`
  stream)
    find_tools
    if [ "$NSB_KIND" = postgres ]; then
      [ $# -eq 1 ] && [ -n "$1" ] || fail 2 'stream one PostgreSQL database at a time'
    else
      for db in "$@"; do
        case $db in '' | -*) fail 2 'a database name must not be empty or start with -' ;; esac
      done
    fi
    stream_dump "$@"
    ;;
`,
  },
  restore: SQL_RESTORE,
  'check-restore': SQL_RESTORE,
  cat: CAT,
  globals: {
    parts: ['files'],
    branch: String.raw`
  globals)
    # Roles, memberships and tablespaces, which no pg_dump holds: beside the databases, atomic like them. The
    # file name has a character no database's file name can have (file_base), so it never replaces one.
    [ "$NSB_KIND" = postgres ] || fail 2 'globals are dumped for PostgreSQL only'
    [ $# -eq 1 ] || fail 2 'globals needs passwords or no-passwords'
    case $1 in passwords | no-passwords) NSB_GLOBALS=$1 ;; *) fail 2 "unknown globals mode $1" ;; esac
    find_tools
    have pg_dumpall || fail 10 'pg_dumpall not found in the container'
    make_dir
    check_disk
    dump_to_file @globals '(globals)'
    ;;
`,
  },
  'existing-globals': {
    parts: [],
    branch: String.raw`
  existing-globals)
    # Roles, tablespaces and memberships (role, member); the names hex-encoded, so a name with a tab or a line break
    # reads back as itself.
    [ "$NSB_KIND" = postgres ] && [ $# -eq 1 ] && [ -n "$1" ] || fail 2 'existing-globals needs a PostgreSQL database'
    find_tools
    out=$(PGDATABASE=$1 psql -X -A -t -w -c "SELECT 'nsbackup-role' || chr(9) || encode(convert_to(rolname, 'UTF8'), 'hex') FROM pg_catalog.pg_roles UNION ALL SELECT 'nsbackup-tablespace' || chr(9) || encode(convert_to(spcname, 'UTF8'), 'hex') FROM pg_catalog.pg_tablespace UNION ALL SELECT 'nsbackup-member' || chr(9) || encode(convert_to(r.rolname, 'UTF8'), 'hex') || chr(9) || encode(convert_to(m.rolname, 'UTF8'), 'hex') FROM pg_catalog.pg_auth_members a JOIN pg_catalog.pg_roles r ON r.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member" 2>&1) ||
      fail 11 "cannot list the server's roles and tablespaces: $(printf '%s\n' "$out" | tail -n 3)"
    printf '%s\n' "$out"
    ;;
`,
  },
  'restore-globals': {
    parts: [],
    branch: String.raw`
  restore-globals)
    # Plain SQL on stdin (after the password), one statement at a time: CREATE TABLESPACE cannot run in a
    # transaction, and a failure stops at the statement that failed.
    [ "$NSB_KIND" = postgres ] && [ $# -eq 1 ] && [ -n "$1" ] || fail 2 'restore-globals needs a PostgreSQL database'
    find_tools
    PGDATABASE=$1 psql -X -q -w -v ON_ERROR_STOP=1 >/dev/null || fail 16 "psql failed to apply the roles and tablespaces (exit code $?)"
    ;;
`,
  },
} satisfies Record<string, Action>;

export type ScriptAction = keyof typeof SQL_ACTIONS;

const COMMAND_RESTORE: Action = {
  parts: ['pipes'],
  branch: String.raw`
  restore | check-restore)
    [ $# -ge 2 ] && [ -n "$1" ] || fail 2 'restore needs a source (a file or -) and the command'
    src=$1
    shift
    find_tools "$1"
    check_source "$src"
    if [ "$NSB_ACTION" = check-restore ]; then
      print_versions
      exit 0
    fi
    restore_from "$src" "$@"
    ;;
`,
};

const COMMAND_ACTIONS: Partial<Record<ScriptAction, Action>> = {
  check: {
    parts: ['files'],
    branch: String.raw`
  check)
    # No generic way to ask an unknown server whether it answers: that the command exists is what is checked.
    [ $# -ge 2 ] || fail 2 'check needs the dump name and the command'
    find_tools "$2"
    print_versions
    check_dir
    check_disk
    if [ "$NSB_DF_DIR" = "$NSB_DIR" ]; then check_room "$(file_base "$1")"; fi
    ;;
`,
  },
  dump: {
    parts: ['files'],
    branch: String.raw`
  dump)
    [ $# -ge 2 ] && [ -n "$1" ] || fail 2 'dump needs the dump name and the command'
    find_tools "$2"
    make_dir
    check_disk
    name=$1
    shift
    dump_to_file "$(file_base "$name")" "$name" "$@"
    ;;
`,
  },
  stream: {
    parts: ['pipes'],
    branch: String.raw`
  stream)
    [ $# -ge 1 ] || fail 2 'stream needs the command'
    find_tools "$1"
    stream_dump "$@"
    ;;
`,
  },
  restore: COMMAND_RESTORE,
  'check-restore': COMMAND_RESTORE,
  cat: CAT,
};

/** Every action of each kind, for the tests that read all programs. */
export const SCRIPT_ACTIONS = {
  sql: Object.keys(SQL_ACTIONS) as ScriptAction[],
  command: Object.keys(COMMAND_ACTIONS) as ScriptAction[],
};

/** The program of one action of one kind (see the top of this file). */
export function dumpScript(kind: 'postgres' | 'mysql' | 'command', action: ScriptAction): string {
  const command = kind === 'command';
  const found = command ? COMMAND_ACTIONS[action] : SQL_ACTIONS[action];
  if (!found) throw new Error(`no ${action} action for a ${kind} database`);
  const { parts, branch } = found as Action;
  return compactScript(
    PRELUDE +
      (command ? COMMAND_TOOLS : SQL_TOOLS) +
      (parts.includes('checks') && !command ? SQL_CHECKS : '') +
      (parts.includes('files') ? FILES : '') +
      (parts.includes('pipes') ? PIPES : '') +
      `case $NSB_ACTION in\n${branch}  *) fail 2 "unknown action $NSB_ACTION" ;;\nesac\n`,
  );
}
