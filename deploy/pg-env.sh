# Sourced by deploy/backup.sh and deploy/restore.sh (not run on its own): DATABASE_URL in
# libpq's spelling, and a check that a PostgreSQL client tool is not older than the server.
# The sourcing script defines die() first.

# The repository (this file is in its deploy/): where backups/ and manage.py are.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Sets $url to DATABASE_URL as libpq takes it; dies unless it names a PostgreSQL database.
pg_url() {
  url="${DATABASE_URL:-}"
  [[ -n "$url" ]] || die "DATABASE_URL is not set"
  # django-environ's spellings of PostgreSQL; libpq takes postgresql:// (and postgres://).
  case "$url" in
    postgresql://*|postgres://*) ;;
    pgsql://*) url="postgresql://${url#pgsql://}" ;;
    *) die "DATABASE_URL is not a PostgreSQL URL (backups are PostgreSQL only)" ;;
  esac
}

# One query on $url, its result unaligned; stops at the first error.
psql_q() { psql --no-psqlrc -X -At -v ON_ERROR_STOP=1 -d "$url" -c "$1"; }

# pg_dump and pg_restore refuse a server newer than themselves: say so plainly, before
# anything is written. $1 is the client tool.
pg_client_not_older() {
  local client_major server_num server_major
  client_major=$("$1" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')
  server_num=$(psql_q "SHOW server_version_num") || die "cannot reach the database"
  server_major=$((server_num / 10000))
  if (( client_major < server_major )); then
    die "$1 $client_major is older than the server ($server_major): install the client of $server_major or newer"
  fi
}
