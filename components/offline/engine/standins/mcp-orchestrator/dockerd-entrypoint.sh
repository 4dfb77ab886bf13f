#!/bin/sh
# docker-library/docker's dind entrypoint, the branch the stack uses: DOCKER_TLS_CERTDIR holds
# server/{ca,cert,key}.pem and no ca/key.pem, so nothing is generated; the certs are checked and
# dockerd listens on 2376 with --tlsverify (and the local socket), never on 2375.
set -eu
dir="${DOCKER_TLS_CERTDIR:-}"
if [ -n "$dir" ] && [ -s "$dir/server/ca.pem" ] && [ -s "$dir/server/cert.pem" ] && [ -s "$dir/server/key.pem" ] && [ ! -s "$dir/ca/key.pem" ]; then
	openssl verify -CAfile "$dir/server/ca.pem" "$dir/server/cert.pem" >/dev/null
	set -- --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify \
		--tlscacert "$dir/server/ca.pem" --tlscert "$dir/server/cert.pem" --tlskey "$dir/server/key.pem" "$@"
elif [ -n "$dir" ]; then
	echo "stand-in: only the pre-generated server certificates branch of dockerd-entrypoint.sh is implemented" >&2
	exit 1
else
	set -- --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
fi
# the real image mounts a fresh cgroup and runs dockerd under `dind`; dockerd 20.10 manages with the host's
exec dockerd "$@"
