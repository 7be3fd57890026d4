#!/usr/bin/env sh
# Write fresh random secrets for docker-compose.yml into ./secrets (never commit them; back them up
# separately from database dumps: the master keys unlock every case). Existing files are kept.
set -eu
cd "$(dirname "$0")/.."
mkdir -p secrets
chmod 700 secrets
rand() { head -c "$1" /dev/urandom; }
new() { [ -s "secrets/$1" ] && echo "secrets/$1 exists; kept" && return 1; return 0; }
umask 077
new django_secret_key && rand 48 | base64 | tr -d '\n=' > secrets/django_secret_key
new convene_master_keys && printf 'k1:%s' "$(rand 32 | base64 | tr '+/' '-_' | tr -d '\n=')" > secrets/convene_master_keys
new convene_index_key && rand 32 | od -An -tx1 | tr -d ' \n' > secrets/convene_index_key
new convene_audit_signing_key && rand 32 | base64 | tr -d '\n' > secrets/convene_audit_signing_key
# One password per database role (deploy/postgres-init.sh creates the roles with them).
for role in db_superuser db_migrator db_app db_keys_app; do
  new "${role}_password" && rand 24 | base64 | tr -d '\n/+=' > "secrets/${role}_password"
done
chmod 644 secrets/*   # readable by the containers' non-root users; the directory itself stays 700
echo "Secrets written to ./secrets. Keep them out of version control; deploy/README.md says how to keep them."
