#!/bin/sh
# Runs as the owner role POSTGRES_USER, once, when the compose PostgreSQL volume is first
# initialised (docker-entrypoint-initdb.d), or by hand for a volume initialised before:
#   docker compose exec postgres sh /docker-entrypoint-initdb.d/10-app-role.sh
# It creates the plain role the portal runs as: it may read and
# write rows in the tables the owner creates (migrations run as the owner), but it owns nothing,
# so it cannot TRUNCATE, ALTER or disable the audit tables' triggers, and it is no superuser,
# so it cannot set session_replication_role either (SECURITY.md).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_role="${APP_DB_USER:-elevate_app}" -v app_password="$APP_DB_PASSWORD" -v owner="$POSTGRES_USER" -v dbname="$POSTGRES_DB" <<'EOSQL'
CREATE ROLE :"app_role" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
GRANT CONNECT ON DATABASE :"dbname" TO :"app_role";
GRANT USAGE ON SCHEMA public TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
-- Tables that exist already (a volume initialised before this script was added).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
EOSQL
