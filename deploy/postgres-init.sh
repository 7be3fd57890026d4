#!/bin/sh
# Database roles for Convene (deploy/README.md, "Database roles"). Run once, as the PostgreSQL superuser,
# on an empty cluster: the postgres image runs it from /docker-entrypoint-initdb.d on first start; on a
# managed server run it by hand with the same variables (PGHOST etc. and the three password files).
#
#   convene_owner       NOLOGIN  owns the schema of "convene" and every object in it
#   convene_keys_owner  NOLOGIN  the same for the key store, "convene_keys"
#   convene_migrator    LOGIN    member of both owners; the migrate job logs in as it and assumes the owner
#   convene_app         LOGIN    web and sealer on "convene": the usual four on ordinary tables, read and
#                                append on the audit tables (manage.py grant_runtime_privileges), owns nothing
#   convene_keys_app    LOGIN    web and sealer on "convene_keys" only; convene_app cannot even connect there
set -eu
secret() { cat "${SECRETS_DIR:-/run/secrets}/$1"; }
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v migrator_password="$(secret db_migrator_password)" \
  -v app_password="$(secret db_app_password)" \
  -v keys_app_password="$(secret db_keys_app_password)" <<'SQL'
CREATE ROLE convene_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE convene_keys_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE convene_migrator LOGIN PASSWORD :'migrator_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS IN ROLE convene_owner, convene_keys_owner;
CREATE ROLE convene_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE ROLE convene_keys_app LOGIN PASSWORD :'keys_app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;

CREATE DATABASE convene OWNER convene_owner;
CREATE DATABASE convene_keys OWNER convene_keys_owner;
-- Nobody connects but the roles named here (this also removes TEMP from PUBLIC).
REVOKE ALL ON DATABASE convene FROM PUBLIC;
REVOKE ALL ON DATABASE convene_keys FROM PUBLIC;
GRANT CONNECT ON DATABASE convene TO convene_migrator, convene_app;
GRANT CONNECT ON DATABASE convene_keys TO convene_migrator, convene_keys_app;

\connect convene
ALTER SCHEMA public OWNER TO convene_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO convene_app;
-- Tables the migrator creates (as convene_owner) are open to the runtime role at once; the audit tables
-- are narrowed to read-and-append by migration audit/0005 and by grant_runtime_privileges after migrate.
ALTER DEFAULT PRIVILEGES FOR ROLE convene_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO convene_app;
ALTER DEFAULT PRIVILEGES FOR ROLE convene_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO convene_app;

\connect convene_keys
ALTER SCHEMA public OWNER TO convene_keys_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO convene_keys_app;
ALTER DEFAULT PRIVILEGES FOR ROLE convene_keys_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO convene_keys_app;
ALTER DEFAULT PRIVILEGES FOR ROLE convene_keys_owner IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO convene_keys_app;
SQL
echo "Convene roles and databases created."
