#!/bin/sh
# docker-library/rabbitmq: a root start owns the data dir, then runs the server as rabbitmq.
set -e
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
	chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
	exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" /usr/lib/rabbitmq/bin/rabbitmq-server
fi
exec "$@"
