#!/bin/sh
# The backup service of docker-compose.yml: create the stanza once, then a full backup when the repository has
# none and an incremental one every BACKUP_INTERVAL_S seconds (a day by default); pgBackRest keeps
# repo1-retention-full full backups with the WAL they need. Restores are run by hand (see README.md here).
set -eu
CONF=/etc/pgbackrest/pgbackrest.conf
until pg_isready -h /var/run/postgresql -U planning -d planning >/dev/null 2>&1; do sleep 2; done
pgbackrest --config="$CONF" --stanza=planning stanza-create
pgbackrest --config="$CONF" --stanza=planning check
while true; do
    if pgbackrest --config="$CONF" --stanza=planning info --output=json | grep -q '"backup":\[\]'; then
        pgbackrest --config="$CONF" --stanza=planning --type=full backup
    else
        pgbackrest --config="$CONF" --stanza=planning --type=incr backup
    fi
    sleep "${BACKUP_INTERVAL_S:-86400}"
done
