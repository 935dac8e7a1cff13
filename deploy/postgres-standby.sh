#!/bin/sh
# `postgres-replica`: a hot standby streaming from `postgres`. On its first start it
# copies the primary (pg_basebackup -R, which also writes the settings that make it
# stream); on every start it runs as a read-only standby the app reads from
# (DATABASE_REPLICA_URLS).
set -e
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
# standby.signal is written last (-R): without it, no copy finished — start over.
if [ ! -f "$PGDATA/standby.signal" ]; then
  find "$PGDATA" -mindepth 1 -delete
  # The primary may still be starting: try until it answers, from an empty folder.
  until su-exec postgres pg_basebackup -h postgres -U "$POSTGRES_USER" -D "$PGDATA" \
      -R -X stream -c fast; do
    find "$PGDATA" -mindepth 1 -delete
    echo "postgres-replica: waiting for the primary; if it refuses replication, its" \
      "data volume predates deploy/postgres-replication.sh (docs/operations.md," \
      "\"Reading from standbys\")" >&2
    sleep 2
  done
fi
exec su-exec postgres postgres -D "$PGDATA"
