#!/bin/sh
# First start of the Compose PostgreSQL: one role and one database per service, each role
# owning only its database (a service cannot read another's data).
set -eu
for service in auth chat billing; do
  password_var=$(echo "${service}_DB_PASSWORD" | tr '[:lower:]' '[:upper:]')
  password=$(eval "printf '%s' \"\$${password_var}\"")
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --set=pw="$password" <<SQL
CREATE ROLE ${service} LOGIN PASSWORD :'pw';
CREATE DATABASE ${service} OWNER ${service};
REVOKE ALL ON DATABASE ${service} FROM PUBLIC;
SQL
done
