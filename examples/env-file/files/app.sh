#!/bin/sh
# The demo app: reads its environment from .env beside it (KEY=VALUE lines, as docker compose's
# env_file: no quoting, `#` comments) and records each (re)start.
set -eu
here=$(dirname "$0")
while IFS= read -r line; do
  case $line in '' | \#*) continue ;; esac
  export "${line%%=*}=${line#*=}"
done < "$here/.env"
echo "started in $APP_ENV with a ${#DB_PASSWORD}-character database password" >> "$here/starts.log"
