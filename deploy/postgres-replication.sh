#!/bin/sh
# Run once, when the primary's data folder is first made (/docker-entrypoint-initdb.d):
# lets `postgres-replica` stream from it. `all` in pg_hba.conf's database column does not
# cover replication connections: they need a line of their own.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
