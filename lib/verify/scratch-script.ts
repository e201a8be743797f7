// The shell program of the scratch database a `verify --level restore` loads a dump into. It runs in a Job of the
// database's own image (same server version as production), never in the production pod: `serve` is the Job's
// container command, the other actions are execs into that pod. Like lib/dump's DB_SCRIPT it is one constant
// string: user values (database names, role names) are positional arguments, SQL arrives on stdin, nothing is
// eval'ed or spliced into a command.
//
//   sh -c "$SCRATCH_SCRIPT" nsbackup-verify ACTION KIND DIR [ARGS...]
//
//   ACTION  serve   initdb / mariadb-install-db into DIR/data, then the server in the foreground, on a unix socket
//                   in DIR only (no TCP): nothing outside the pod can reach it, so trust / passwordless root is safe
//           ready   waits until the server answers (ARGS: seconds to wait)
//           prepare postgres: ARGS = DATABASE ROLE...: the roles the dump names (created without login when
//                   missing: roles are not in a pg_dump of one database) and the database; mysql: nothing
//           load    the dump (gzip) on stdin into DATABASE (ARGS: DATABASE; mysql: empty, the dump names them)
//           query   SQL on stdin, run in DATABASE (ARGS: DATABASE, may be empty for mysql); stdout: the rows
//   KIND    postgres | mysql
//   DIR     the scratch directory (an emptyDir): data, socket, server log
//
// The clients find the socket through PGHOST / MYSQL_UNIX_PORT, which the Job (or the test) sets to DIR. Failures:
// one `nsbackup: MESSAGE` line on stderr; exit 20 (the server did not start), 21 (prepare), 22 (query), 23 (load), 2 (usage).
import { compactScript } from '../dump/script.js';

export const SCRATCH_SCRIPT = compactScript(String.raw`
set -u
set -f
NSV_ACTION=$1 NSV_KIND=$2 NSV_DIR=$3
shift 3
fail() {
  code=$1
  shift
  printf 'nsbackup: %s\n' "$*" >&2
  exit "$code"
}
have() { command -v "$1" >/dev/null 2>&1; }
case $NSV_KIND in postgres | mysql) ;; *) fail 2 "unknown database kind $NSV_KIND" ;; esac
case $NSV_DIR in /*) ;; *) fail 2 "the scratch directory must be an absolute path: $NSV_DIR" ;; esac
NSV_DATA=$NSV_DIR/data
NSV_LOG=$NSV_DIR/server.log

my_client() {
  if have mariadb; then set -- mariadb "$@"; else set -- mysql "$@"; fi
  "$@" --no-defaults --user=root --socket="$NSV_DIR/mysqld.sock" --batch --skip-column-names
}
my_client_in() {
  db=$1
  if have mariadb; then c=mariadb; else c=mysql; fi
  if [ -n "$db" ]; then
    "$c" --no-defaults --user=root --socket="$NSV_DIR/mysqld.sock" --batch --skip-column-names --database="$db"
  else
    "$c" --no-defaults --user=root --socket="$NSV_DIR/mysqld.sock" --batch --skip-column-names
  fi
}
pg_client() {
  psql -X -q -w -v ON_ERROR_STOP=1 "$@"
}

case $NSV_ACTION in
  serve)
    mkdir -p -- "$NSV_DATA" || fail 20 "cannot create $NSV_DATA"
    if [ "$NSV_KIND" = postgres ]; then
      [ "$(id -u)" != 0 ] || fail 20 'initdb refuses to run as root: run the scratch pod as the image user (runAsUser)'
      chmod 700 "$NSV_DATA"
      initdb -D "$NSV_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync >"$NSV_LOG" 2>&1 ||
        fail 20 "initdb failed: $(tail -n 5 "$NSV_LOG")"
      # No TCP at all: the socket in the emptyDir is the only way in, so trust authentication reaches no one else.
      exec postgres -D "$NSV_DATA" -k "$NSV_DIR" -c listen_addresses= -c fsync=off -c synchronous_commit=off \
        -c full_page_writes=off
    fi
    if have mariadb-install-db; then install=mariadb-install-db; elif have mysql_install_db; then install=mysql_install_db; else
      fail 20 'neither mariadb-install-db nor mysql_install_db found in the image'
    fi
    if have mariadbd; then server=mariadbd; elif have mysqld; then server=mysqld; else fail 20 'no mariadbd or mysqld in the image'; fi
    # As root (a test machine) the server needs to be told; in the Job it runs as the image's user.
    if [ "$(id -u)" = 0 ]; then set -- --user=root; else set --; fi
    "$install" --no-defaults --datadir="$NSV_DATA" "$@" --auth-root-authentication-method=normal --skip-test-db \
      --skip-name-resolve >"$NSV_LOG" 2>&1 || fail 20 "$install failed: $(tail -n 5 "$NSV_LOG")"
    exec "$server" --no-defaults --datadir="$NSV_DATA" "$@" --socket="$NSV_DIR/mysqld.sock" --skip-networking \
      --pid-file="$NSV_DIR/mysqld.pid" --tmpdir="$NSV_DIR" --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
      --log-error="$NSV_LOG"
    ;;
  ready)
    wait=60
    if [ $# -ge 1 ]; then wait=$1; fi
    case $wait in '' | *[!0-9]*) fail 2 'ready needs a number of seconds' ;; esac
    i=0
    while :; do
      if [ "$NSV_KIND" = postgres ]; then
        out=$(PGDATABASE=postgres pg_client -A -t -c 'SELECT 1' 2>&1)
      else
        out=$(printf 'SELECT 1;\n' | my_client 2>&1)
      fi
      [ "$out" = 1 ] && exit 0
      i=$((i + 1))
      [ "$i" -lt "$((wait * 4))" ] || fail 20 "the scratch server did not answer within $wait s: $out $(tail -n 5 "$NSV_LOG" 2>/dev/null)"
      sleep 0.25 2>/dev/null || sleep 1
    done
    ;;
  prepare)
    [ "$NSV_KIND" = postgres ] || exit 0
    [ $# -ge 1 ] && [ -n "$1" ] || fail 2 'prepare needs the database'
    db=$1
    shift
    # psql quotes :"name" and :'name' itself: the names are never part of the program text.
    for role in "$@"; do
      printf '%s\n' "SELECT format('CREATE ROLE %I NOLOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \\gexec" |
        PGDATABASE=postgres pg_client -v role="$role" >/dev/null || fail 21 "cannot create the role $role"
    done
    printf '%s\n' 'CREATE DATABASE :"db";' | PGDATABASE=postgres pg_client -v db="$db" >/dev/null ||
      fail 21 "cannot create the database $db"
    ;;
  load)
    # The dump (gzip, decrypted by the verifier) on stdin. The dump's own exit status comes out on fd 3, as in
    # DB_SCRIPT's restore; the client's failure is reported first (gzip then dies of SIGPIPE, not the cause).
    [ $# -eq 1 ] || fail 2 'load needs the database (may be empty for mysql)'
    db=$1
    rc=$({ { gzip -dc; echo $? >&3; } |
      if [ "$NSV_KIND" = postgres ]; then
        PGDATABASE=$db pg_client --single-transaction >/dev/null 3>&-
      else
        my_client_in "$db" >/dev/null 3>&-
      fi; } 3>&1)
    client=$?
    [ "$client" = 0 ] || fail 23 "the dump did not load (the client exited with code $client)"
    [ "$rc" = 0 ] || fail 23 "the dump is not a whole gzip stream (gzip exit code $rc)"
    ;;
  query)
    [ $# -eq 1 ] || fail 2 'query needs the database (may be empty for mysql)'
    if [ "$NSV_KIND" = postgres ]; then
      [ -n "$1" ] || fail 2 'a PostgreSQL query needs a database'
      # Unaligned, no headers, fields separated by the unit separator (a value may contain | or a tab).
      PGDATABASE=$1 pg_client -A -t -F "$(printf '\037')" -f - || fail 22 'the query failed'
    else
      my_client_in "$1" || fail 22 'the query failed'
    fi
    ;;
  *) fail 2 "unknown action $NSV_ACTION" ;;
esac
`);
