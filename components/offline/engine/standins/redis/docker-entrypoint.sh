#!/bin/sh
# docker-library/redis: a root `redis-server` owns its work dir, then runs as the redis user.
set -e
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
exec "$@"
