"""What every `mesh:*` config model shares: the strict pydantic base, `ConfigError` and the common validators.

Kept apart from the root model (`components.model.mesh`) so that section models can use them without an
import cycle. Pure: no Pulumi.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from components.catalog.canonical import docker_cpus


class ConfigError(ValueError):
    """A user mistake in the stack config: `key` is the full config key, `message` what is wrong."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check_tcp_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port (1-65535)")
    return value


def check_cpus(value: float | None) -> float | None:
    """A CPU limit Docker takes and pulumi-docker reads back as the same number (else every `up` replaces the container)."""
    if value is not None:
        docker_cpus(value)
    return value


def check_image_reference(image: str) -> str:
    """An image must carry an explicit tag other than `latest`, or a digest."""
    if "@sha256:" in image:
        return image
    last_segment = image.rsplit("/", 1)[-1]
    if ":" not in last_segment:
        raise ValueError(f"image {image!r} has no tag; pin one (e.g. {image}:1.2)")
    tag = last_segment.split(":", 1)[1]
    if not tag:
        raise ValueError(f"image {image!r} has an empty tag")
    if tag == "latest":
        raise ValueError(f"image {image!r} uses 'latest'; pin a version tag")
    return image


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are frozen once parsed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)
