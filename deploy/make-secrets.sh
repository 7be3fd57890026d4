#!/usr/bin/env sh
# Write fresh random secrets for docker-compose.yml into ./secrets (never commit them; back them up
# separately from database dumps: the master keys unlock every case).
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
if [ ! -s .env ] || ! grep -q '^POSTGRES_PASSWORD=' .env; then
  printf 'POSTGRES_PASSWORD=%s\n' "$(rand 24 | base64 | tr -d '\n/+=')" >> .env
fi
chmod 644 secrets/*   # readable by the container's non-root user; the directory itself stays 700
echo "Secrets written to ./secrets and POSTGRES_PASSWORD to .env. Keep both out of version control."
