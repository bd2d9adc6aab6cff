#!/usr/bin/env bash
# make restore BACKUP=<file>: pg_restore a dump of `make backup` into DATABASE_URL, then
# run `manage.py smoke_check` on it (docs/deploy.md, "Backups and restore").
#
#   BACKUP         the dump to restore; required
#   DATABASE_URL   the database to restore into; it must exist and be empty, unless
#   RESTORE_CLEAN=1   which drops the dump's objects first (pg_restore --clean --if-exists)
#   PYTHON         the interpreter for the smoke check (default the repository's .venv/bin/python)
#
# Objects are owned by DATABASE_URL's user (--no-owner) and no grants are replayed
# (--no-acl): the roles of the server the dump came from need not exist here. Everything
# is restored in one transaction: a failure leaves the target as it was.
set -euo pipefail

die() { echo "restore: $*" >&2; exit 1; }
# shellcheck source=deploy/pg-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/pg-env.sh"

backup="${1:-${BACKUP:-}}"
[[ -n "$backup" ]] || die "no backup given: make restore BACKUP=backups/supportgroup-<timestamp>.dump"
[[ -f "$backup" ]] || die "$backup is not a file"
pg_url
python="${PYTHON:-$root/.venv/bin/python}"

pg_client_not_older pg_restore

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

cd "$root"  # manage.py, and PYTHON relative to the repository (as make passes it)
DATABASE_URL="$url" "$python" manage.py smoke_check
