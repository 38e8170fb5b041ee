#!/bin/sh
# Run once by the PostGIS image when it creates the primary's cluster: let the replica connect for streaming
# replication (the image's own pg_hba.conf line "host all all all" does not cover replication connections).
set -eu
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
