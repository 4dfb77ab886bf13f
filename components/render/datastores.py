"""Renderers for the data stores' own config files (Redis, RabbitMQ). Pure: no Pulumi."""

from __future__ import annotations

import base64
import hashlib
import json

from components.catalog.names import RABBITMQ, REDIS
from components.catalog.services import CATALOG

REDIS_CONF_PATH = "/usr/local/etc/redis/redis.conf"
RABBITMQ_CONF_PATH = "/etc/rabbitmq/rabbitmq.conf"
RABBITMQ_DEFINITIONS_PATH = "/etc/rabbitmq/definitions.json"


def render_redis_conf(password: str) -> str:
    return "\n".join(
        [
            "bind * -::*",
            f"port {CATALOG[REDIS].main_port.internal}",
            f"requirepass {password}",
            "appendonly yes",
            "dir /data",
            "",
        ]
    )


def rabbitmq_password_hash(password: str, salt: bytes) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt ++ sha256(salt ++ password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def render_rabbitmq_conf() -> str:
    rabbitmq = CATALOG[RABBITMQ]
    # definitions are only loaded at boot through this key (the management plugin's variant is deprecated)
    return "\n".join(
        [
            f"load_definitions = {RABBITMQ_DEFINITIONS_PATH}",
            f"listeners.tcp.default = {rabbitmq.port('amqp').internal}",
            f"management.tcp.port = {rabbitmq.port('management').internal}",
            f"prometheus.tcp.port = {rabbitmq.port('prometheus').internal}",
            "",
        ]
    )


def render_rabbitmq_definitions(user: str, password: str, salt: bytes, vhost: str) -> str:
    definitions = {
        "users": [
            {
                "name": user,
                "password_hash": rabbitmq_password_hash(password, salt),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [{"user": user, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}],
    }
    return json.dumps(definitions, indent=2, sort_keys=True) + "\n"


def postgres_data_path(image: str) -> str:
    """Postgres 18 images keep PGDATA in a versioned folder under /var/lib/postgresql and want the volume there."""
    tag = image.rsplit(":", 1)[-1]
    major = tag.split(".", 1)[0].split("-", 1)[0]
    return "/var/lib/postgresql" if major.isdigit() and int(major) >= 18 else "/var/lib/postgresql/data"
