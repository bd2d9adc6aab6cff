#!/usr/bin/env bash
# make backup: a custom-format pg_dump of DATABASE_URL into BACKUP_DIR (docs/deploy.md,
# "Backups and restore").
#
#   DATABASE_URL      the database to dump (postgres://...); required
#   BACKUP_DIR        where dumps go (default: backups/ beside this repository's Makefile)
#   BACKUP_KEEP_DAYS  dumps older than this many days are deleted afterwards (default 30,
#                     the retention schedule in docs/privacy.md); 0 keeps everything
#
# The dump is written under a temporary name and renamed once pg_dump has finished, so a
# file named supportgroup-<UTC timestamp>.dump is always complete. Prints its path.
set -euo pipefail

die() { echo "backup: $*" >&2; exit 1; }
# shellcheck source=deploy/pg-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/pg-env.sh"

pg_url

dir="${BACKUP_DIR:-$root/backups}"
keep="${BACKUP_KEEP_DAYS:-30}"
[[ "$keep" =~ ^[0-9]+$ ]] || die "BACKUP_KEEP_DAYS must be a whole number of days"

pg_client_not_older pg_dump

# Dumps hold everything members wrote: readable by this user only.
umask 077
mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$dir/supportgroup-$stamp.dump"
partial="$dir/.supportgroup-$stamp.dump.partial"
[[ ! -e "$final" ]] || die "$final exists already"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --no-password --file="$partial" --dbname="$url" || die "pg_dump failed"
mv "$partial" "$final"
trap - EXIT
echo "$final"

# Retention: by the timestamp in the name (the same format sorts as text), not the file's
# modification time, which a copy between machines resets.
if (( keep > 0 )); then
  cutoff=$(date -u -d "-$keep days" +%Y%m%dT%H%M%SZ)
  for old in "$dir"/supportgroup-*.dump; do
    [[ -e "$old" ]] || continue
    name=$(basename "$old" .dump)
    when=${name#supportgroup-}
    [[ "$when" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || continue
    if [[ "$when" < "$cutoff" ]]; then
      rm -f -- "$old"
      echo "deleted $old (older than $keep days)" >&2
    fi
  done
  # Leftovers of runs that were killed before their rename.
  find "$dir" -maxdepth 1 -name '.supportgroup-*.dump.partial' -mmin +1440 -delete
fi
