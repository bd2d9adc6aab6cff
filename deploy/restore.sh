#!/usr/bin/env bash
# make restore BACKUP=<file>: pg_restore a dump of `make backup` into DATABASE_URL, then
# run `manage.py smoke_check` on it (docs/deploy.md, "Backups").
#
#   BACKUP         the dump to restore; required
#   DATABASE_URL   the database to restore into; it must exist and be empty, unless
#   RESTORE_CLEAN=1   which drops the dump's objects first (pg_restore --clean --if-exists)
#   PYTHON         the interpreter for the smoke check (default .venv/bin/python)
#
# Objects are owned by DATABASE_URL's user (--no-owner) and no grants are replayed
# (--no-acl): the roles of the server the dump came from need not exist here. Everything
# is restored in one transaction: a failure leaves the target as it was.
set -euo pipefail

die() { echo "restore: $*" >&2; exit 1; }

backup="${1:-${BACKUP:-}}"
[[ -n "$backup" ]] || die "no backup given: make restore BACKUP=backups/supportgroup-<timestamp>.dump"
[[ -f "$backup" ]] || die "$backup is not a file"
url="${DATABASE_URL:-}"
[[ -n "$url" ]] || die "DATABASE_URL is not set"
case "$url" in
  postgresql://*|postgres://*) ;;
  pgsql://*) url="postgresql://${url#pgsql://}" ;;
  *) die "DATABASE_URL is not a PostgreSQL URL" ;;
esac
python="${PYTHON:-.venv/bin/python}"

psql_q() { psql --no-psqlrc -X -At -v ON_ERROR_STOP=1 -d "$url" -c "$1"; }

client_major=$(pg_restore --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
server_num=$(psql_q "SHOW server_version_num") || die "cannot reach the database"
if (( client_major < server_num / 10000 )); then
  die "pg_restore $client_major is older than the server ($((server_num / 10000)))"
fi

# Anything of ours in the target (tables, sequences, views in any schema but the system's)
# means it is in use: never restore over it by accident.
objects=$(psql_q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
    AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')")
clean=()
if (( objects > 0 )); then
  if [[ "${RESTORE_CLEAN:-}" != "1" ]]; then
    die "the target database is not empty ($objects tables, views or sequences): restore into an empty database, or set RESTORE_CLEAN=1 to drop and replace what the dump contains"
  fi
  clean=(--clean --if-exists)
fi

pg_restore --no-owner --no-acl --single-transaction --exit-on-error --no-password \
  "${clean[@]}" --dbname="$url" "$backup" || die "pg_restore failed; the target is unchanged"
echo "restored $backup"

DATABASE_URL="$url" "$python" manage.py smoke_check
