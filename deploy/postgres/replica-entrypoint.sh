#!/bin/sh
# The replica's start: the first time, a base backup of the primary written as a standby (-R); then PostgreSQL,
# which follows the primary's WAL and answers read-only queries. Runs as the 'postgres' user of the PostGIS image.
set -eu
: "${PGDATA:?}" "${PRIMARY_HOST:?}" "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}"
if [ ! -s "${PGDATA}/PG_VERSION" ]; then
    until pg_isready -h "${PRIMARY_HOST}" -U "${POSTGRES_USER}" -q; do sleep 1; done
    PGPASSWORD="${POSTGRES_PASSWORD}" pg_basebackup -h "${PRIMARY_HOST}" -U "${POSTGRES_USER}" -D "${PGDATA}" \
        -R -X stream --checkpoint=fast
    chmod 0700 "${PGDATA}"
fi
exec postgres -D "${PGDATA}" -c hot_standby=on
