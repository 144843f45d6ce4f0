#!/bin/sh
# The go-cart app stand-in: a CGI script under busybox httpd, answering what Flask would.
# It shows that the env file reached the container without printing any secret.
printf 'Content-Type: text/plain\r\n\r\n'
echo "go-cart app ok"
echo "database: ${DATABASE_HOST:-unset}"
echo "redis: ${REDIS_HOST:-unset}"
if [ -n "${MAPBOX_TOKEN:-}" ]; then echo "api key: set"; else echo "api key: missing"; fi
