#!/usr/bin/env bash
# Start the database servers the SQL lookup-table tests talk to, and print how to reach them.
#
# Runs as root on Debian 12 (a container without systemd is fine) and is idempotent: run it
# again and it only checks that everything is up. It
#   * installs postgresql and mariadb-server when missing,
#   * starts PostgreSQL (pg_ctlcluster) and MariaDB (its SysV init script, or mysqld_safe),
#   * waits until both accept connections,
#   * creates the database vmail_test owned by user vmail_test, password vmail_test, on both,
#   * lets vmail_test create (and drop) throwaway databases: CREATEDB on PostgreSQL, every
#     privilege on databases named vmail_test_* on MariaDB (the directory migration tests
#     each use their own database, so they never touch the tables other tests share),
#   * prints the two lines the tests read, in libpq "key=value" conninfo style:
#       export VMAIL_TEST_PGSQL='host=127.0.0.1 port=5432 user=vmail_test password=vmail_test dbname=vmail_test'
#       export VMAIL_TEST_MYSQL='host=127.0.0.1 port=3306 user=vmail_test password=vmail_test dbname=vmail_test'
#
# Use:   eval "$(sudo dev/services.sh)"   then   .venv/bin/pytest -m 'pgsql or mysql'
# Progress messages go to stderr so that stdout is only the export lines.
set -euo pipefail

DB=vmail_test
DB_USER=vmail_test
DB_PASSWORD=vmail_test
WAIT_SECONDS=60

log() { printf 'services.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (I install packages and start servers)"

wait_for() {  # wait_for DESCRIPTION COMMAND... : retry COMMAND until it succeeds or time runs out
    local what=$1; shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what did not become ready within ${WAIT_SECONDS}s"
        sleep 0.2
    done
}

install_missing() {
    local missing=()
    command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
    command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || missing+=(mariadb-server)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2
    fi
}

start_postgresql() {
    local version cluster=main
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    [ -n "$version" ] || die "no PostgreSQL version under /usr/lib/postgresql"
    if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version $cluster"; then
        log "creating PostgreSQL $version cluster $cluster"
        pg_createcluster "$version" "$cluster" >&2
    fi
    PG_PORT=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c {print $3}')
    if ! pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
        log "starting PostgreSQL $version/$cluster on port $PG_PORT"
        pg_ctlcluster "$version" "$cluster" start >&2
    fi
    wait_for "PostgreSQL" pg_isready -q -h 127.0.0.1 -p "$PG_PORT"

    local psql=(runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres)
    "${psql[@]}" >&2 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN;
    END IF;
END
\$\$;
ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
SQL
    if [ "$("${psql[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        log "creating PostgreSQL database $DB"
        "${psql[@]}" -c "CREATE DATABASE $DB OWNER $DB_USER" >&2
    fi
}

mysql_ping() { mariadb-admin --protocol=socket -uroot ping; }

start_mariadb() {
    MY_PORT=3306
    if ! mysql_ping >/dev/null 2>&1; then
        log "starting MariaDB"
        if [ -x /etc/init.d/mariadb ]; then
            /etc/init.d/mariadb start >&2 || true
        fi
        if ! mysql_ping >/dev/null 2>&1; then
            mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
            (setsid mysqld_safe --user=mysql >/dev/null 2>&1 &)
        fi
    fi
    wait_for "MariaDB" mysql_ping
    mariadb --protocol=socket -uroot >&2 <<SQL
CREATE DATABASE IF NOT EXISTS $DB;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON $DB.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON $DB.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`${DB}\\_%\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`${DB}\\_%\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
}

install_missing
start_postgresql
start_mariadb
log "ready"
printf "export VMAIL_TEST_PGSQL='host=127.0.0.1 port=%s user=%s password=%s dbname=%s'\n" \
    "$PG_PORT" "$DB_USER" "$DB_PASSWORD" "$DB"
printf "export VMAIL_TEST_MYSQL='host=127.0.0.1 port=%s user=%s password=%s dbname=%s'\n" \
    "$MY_PORT" "$DB_USER" "$DB_PASSWORD" "$DB"
