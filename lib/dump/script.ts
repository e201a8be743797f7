// The shell program that runs inside the DATABASE container (so that pg_dump/mysqldump match the server's
// version). It is one constant string: every value that comes from the user (database names, user, host, dump
// directory, the name of a password variable) reaches it only as a positional argument, and the password only on
// stdin or through `printenv NAME`. Nothing is ever eval'ed or spliced into a command string.
//
//   sh -c "$DB_SCRIPT" nsbackup ACTION KIND PW_SOURCE PW_VAR USER HOST PORT DIR THRESHOLD [ARGS...]
//
//   ACTION     check | dump | stream | cat | restore | globals | existing-globals | restore-globals
//   KIND       postgres | mysql
//   PW_SOURCE  stdin (first line of stdin) | env (variable named PW_VAR) | none
//   USER/HOST/PORT  '' for the client's default (in a database container: the local socket)
//   DIR        the dump directory (check, dump, cat); THRESHOLD the highest allowed used% of its disk
//   ARGS       check/dump/stream: database names (postgres: none = every connectable database; mysql: none =
//              --all-databases); cat: one dump file inside DIR; restore: SOURCE (a file path, or - for stdin
//              after the password) and DATABASE; globals (PostgreSQL): passwords | no-passwords;
//              existing-globals and restore-globals (PostgreSQL): the DATABASE to connect to
//
// Output: tab-separated lines on stdout, `nsbackup-version TOOL VERSION`, `nsbackup-disk USED THRESHOLD`,
// `nsbackup-file SIZE SHA256 PATH DATABASE`; in stream and cat mode stdout is the gzip stream itself. Failures: one
// line `nsbackup: MESSAGE` on stderr and an exit code naming the step (see DumpStep in errors.ts).
//
// `check` creates nothing (a dry run runs it): a missing dump directory only needs a writable nearest ancestor.
// `dump` creates the directory, then writes each file to a temporary name of its own (`.<base>.sql.gz.<pid>.partial`),
// so an overlapping run, or an orphaned dump still running after its exec closed, never shares or removes it.
//
// A pipeline's status is that of its last command and POSIX sh has no pipefail, so the dump's own exit status
// is written to file descriptor 3, which is captured by $( ): `rc=$( { { dump; echo $? >&3; } | gzip; } 3>&1 )`.

// The program travels in the exec URL's query (one `command` parameter), which servers and proxies limit in size:
// whole-line comments, indentation and blank lines are dropped on the way (no line of it continues a string).
export const compactScript = (program: string): string =>
  program
    .split('\n')
    .map((line) => line.trimStart())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .join('\n') + '\n';

const PRELUDE = String.raw`set -u
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

case $NSB_KIND in postgres | mysql) ;; *) fail 2 "unknown database kind $NSB_KIND" ;; esac
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

have() { command -v "$1" >/dev/null 2>&1; }

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
`;

// The dump directory, its disk and the atomic dump files: what check, dump and globals need.
const DUMP_FILES = String.raw`check_server() {
  if [ "$NSB_KIND" = postgres ]; then
    if [ $# -gt 0 ] && [ -n "$1" ]; then db=$1; else db=postgres; fi
    out=$(PGDATABASE=$db psql -X -A -t -w -c 'SELECT 1' 2>&1)
  else
    out=$(my_run "$NSB_CLIENT" --batch --skip-column-names -e 'SELECT 1' 2>&1)
  fi
  [ "$out" = 1 ] || fail 11 "the database server does not answer SELECT 1: $(printf '%s\n' "$out" | tail -n 3)"
}

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

# check_room BASE: the new dump is written beside the previous BASE.sql.gz until it is verified and renamed over
# it, so the disk must have at least the previous dump's size free (the best guess of the new one's size).
check_room() {
  prev="$NSB_DIR/$1.sql.gz"
  [ -f "$prev" ] || return 0
  need=$(wc -c <"$prev" | tr -d ' ')
  read_df "$NSB_DIR"
  [ "$((NSB_AVAIL_KB * 1024))" -ge "$need" ] ||
    fail 13 "the dump directory $NSB_DIR has $NSB_AVAIL_KB KiB free, less than the $(((need + 1023) / 1024)) KiB of the previous dump $prev (the new dump is written beside it until it replaces it)"
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
  for f in "$NSB_DIR/.$1.sql.gz."*.partial; do
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
  final="$NSB_DIR/$base.sql.gz"
  remove_stale_partials "$base"
  check_room "$base"
  NSB_TMP="$NSB_DIR/.$base.sql.gz.$$.partial"
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

const ACTIONS = {
  check: {
    files: true,
    body: String.raw`
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
    files: true,
    body: String.raw`
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
    files: false,
    body: String.raw`
  stream)
    find_tools
    if [ "$NSB_KIND" = postgres ]; then
      [ $# -eq 1 ] && [ -n "$1" ] || fail 2 'stream one PostgreSQL database at a time'
    else
      for db in "$@"; do
        case $db in '' | -*) fail 2 'a database name must not be empty or start with -' ;; esac
      done
    fi
    exec 4>&1
    rc=$({ { run_dump "$@" 3>&- 4>&-; echo $? >&3; } | gzip -c >&4 3>&- 4>&-; } 3>&1)
    gz=$?
    [ "$rc" = 0 ] || fail 14 "the dump failed (exit code $rc)"
    [ "$gz" = 0 ] || fail 14 "gzip failed (exit code $gz)"
    ;;
`,
  },
  cat: {
    files: false,
    body: String.raw`
  cat)
    # The verified dump file byte for byte (the upload to S3 then holds what the snapshot holds). Only a file
    # directly in the dump directory: this action is no general file reader.
    [ $# -eq 1 ] || fail 2 'cat needs one dump file'
    case $1 in
      "$NSB_DIR"/*/* | "$NSB_DIR"/.*) fail 2 "not a dump file in $NSB_DIR: $1" ;;
      "$NSB_DIR"/?*) ;;
      *) fail 2 "not a dump file in $NSB_DIR: $1" ;;
    esac
    { [ -f "$1" ] && [ -r "$1" ]; } || fail 15 "the dump file $1 is missing or unreadable"
    exec cat -- "$1"
    ;;
`,
  },
  restore: {
    files: false,
    body: String.raw`
  restore)
    find_tools
    [ $# -eq 2 ] && [ -n "$1" ] || fail 2 'restore needs a source (a file or -) and a database (may be empty)'
    src=$1 db=$2
    if [ "$src" != - ] && [ ! -r "$src" ]; then fail 16 "cannot read the dump file $src"; fi
    [ "$NSB_KIND" = mysql ] || [ -n "$db" ] || fail 2 'restoring a PostgreSQL dump needs a database'
    rc=$({ { if [ "$src" = - ]; then gzip -dc; else gzip -dc -- "$src"; fi; echo $? >&3; } |
      if [ "$NSB_KIND" = postgres ]; then
        PGDATABASE=$db psql -X -q -w -v ON_ERROR_STOP=1 --single-transaction >/dev/null 3>&-
      elif [ -n "$db" ]; then
        my_run "$NSB_CLIENT" --database="$db" >/dev/null 3>&-
      else
        my_run "$NSB_CLIENT" >/dev/null 3>&-
      fi; } 3>&1)
    client=$?
    # The client first: when it stops on an error, gzip dies of SIGPIPE, which is not the cause.
    [ "$client" = 0 ] || fail 16 "$NSB_CLIENT failed to restore the dump (exit code $client)"
    [ "$rc" = 0 ] || fail 16 "the dump could not be decompressed (gzip exit code $rc)"
    ;;
`,
  },
  globals: {
    files: true,
    body: String.raw`
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
    files: false,
    body: String.raw`
  existing-globals)
    # The names hex-encoded, so a name with a tab or a line break reads back as itself.
    [ "$NSB_KIND" = postgres ] && [ $# -eq 1 ] && [ -n "$1" ] || fail 2 'existing-globals needs a PostgreSQL database'
    find_tools
    out=$(PGDATABASE=$1 psql -X -A -t -w -c "SELECT 'nsbackup-role' || chr(9) || encode(convert_to(rolname, 'UTF8'), 'hex') FROM pg_catalog.pg_roles UNION ALL SELECT 'nsbackup-tablespace' || chr(9) || encode(convert_to(spcname, 'UTF8'), 'hex') FROM pg_catalog.pg_tablespace" 2>&1) ||
      fail 11 "cannot list the server's roles and tablespaces: $(printf '%s\n' "$out" | tail -n 3)"
    printf '%s\n' "$out"
    ;;
`,
  },
  'restore-globals': {
    files: false,
    body: String.raw`
  restore-globals)
    # Plain SQL on stdin (after the password), one statement at a time: CREATE TABLESPACE cannot run in a
    # transaction, and a failure stops at the statement that failed.
    [ "$NSB_KIND" = postgres ] && [ $# -eq 1 ] && [ -n "$1" ] || fail 2 'restore-globals needs a PostgreSQL database'
    find_tools
    PGDATABASE=$1 psql -X -q -w -v ON_ERROR_STOP=1 >/dev/null || fail 16 "psql failed to apply the roles and tablespaces (exit code $?)"
    ;;
`,
  },
} as const;

export type ScriptAction = keyof typeof ACTIONS;

/**
 * The program of one action: the prelude, the dump-file functions when the action writes or checks dump files, and
 * that action's branch only. It travels in the exec URL, whose size servers and proxies limit: one program for
 * every action would not fit beside a long query.
 */
export function dbScript(action: ScriptAction): string {
  const { files, body } = ACTIONS[action];
  return compactScript(
    PRELUDE +
      (files ? DUMP_FILES : '') +
      'case $NSB_ACTION in\n' +
      body +
      '  *) fail 2 "unknown action $NSB_ACTION" ;;\nesac\n',
  );
}

/** Every action's program, for the tests that read them all. */
export const ALL_ACTIONS = Object.keys(ACTIONS) as ScriptAction[];
