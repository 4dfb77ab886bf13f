"""What every `mesh:*` config model shares: the strict pydantic base, `ConfigError` and the common validators.

Kept apart from the root model (`components.model.mesh`) so that section models can use them without an
import cycle. Each validator accepts what the consumer of the value accepts (Docker, npm), and says where
that rule comes from. Pure: no Pulumi.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict

from components.catalog.canonical import docker_cpus
from components.catalog.image_pins import split_reference, version_parts

# A value that looks like a credential wherever it appears: URL userinfo (`scheme://user:pass@`), well-known token
# prefixes (GitHub, GitLab, Slack, OpenAI-style `sk-`, AWS access keys, npm, Hugging Face), and long mixed runs.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@'\"]*@")
_TOKEN = re.compile(r"\b(?:gh[pousr]_|github_pat_|glpat-|xox[abprs]-|sk-|npm_|hf_)[A-Za-z0-9_\-]{8,}|\b(?:AKIA|ASIA)[A-Z0-9]{12,}")
_LONG_RUN = re.compile(r"[A-Za-z0-9_\-]{32,}")


def _hide_long_run(match: re.Match[str]) -> str:
    run = match.group()
    return "***" if any(char.isdigit() for char in run) and any(char.isalpha() for char in run) else run


# a web URL's path: webhook URLs (Slack, Teams, generic receivers) carry their secret there
_URL_PATH = re.compile(r"(?i)\b(https?://[^/?#\s'\"]+)[/?#][^\s'\"]*")


def redact_credentials(text: str) -> str:
    """`text` with anything that looks like a credential replaced by `***`."""
    text = _URL_PATH.sub(r"\1/***", _USERINFO.sub(r"\1***@", text))
    return _LONG_RUN.sub(_hide_long_run, _TOKEN.sub("***", text))


def one_line(text: str) -> str:
    """`text` with every character `str.splitlines` breaks on escaped, so it prints as exactly one line."""
    return "".join(char.encode("unicode_escape").decode() if len(f"{char}x".splitlines()) > 1 else char for char in text)


_LINE_MAX = 400


def _shortened(text: str) -> str:
    return text if len(text) <= _LINE_MAX else text[: _LINE_MAX - 3] + "..."


class ConfigError(ValueError):
    """A user mistake in the stack config: `key` is the full config key, `message` what is wrong.

    The line it prints is one line, whatever the user wrote, and never shows a credential-looking value.
    """

    def __init__(self, key: str, message: str) -> None:
        key, message = (one_line(_shortened(redact_credentials(text))) for text in (key, message))
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check_tcp_port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a TCP port (1-65535)")
    return value


# Docker's image reference grammar, distribution/reference regexp.go (v0.6, the grammar `docker pull` and the
# Docker provider parse with): name = [domain[:port]/]path-component(/path-component)*, then :tag, then @digest.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = f"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"  # Go's \w is ASCII-only
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
_ANCHORED_NAME = re.compile(rf"(?:{_HOST}(?::[0-9]+)?/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)")
# reference.go then hands the digest to opencontainers/go-digest, whose algorithm.go fixes each encoding:
# lowercase hex of the algorithm's size; any other algorithm is "unsupported digest algorithm".
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_NAME_MAX = 255  # reference.go, RepositoryNameTotalLengthMax


def check_image_reference(image: str) -> str:
    """A reference Docker can pull (its grammar, above) that is pinned: a tag other than `latest`, or a digest."""
    match = _REFERENCE.fullmatch(image)
    if match is None:
        lowered = image.lower()
        if lowered != image and _REFERENCE.fullmatch(lowered):
            # normalize.go, ParseNormalizedNamed: "repository name must be lowercase"
            raise ValueError(f"image {image!r} is not a valid Docker reference: the repository name must be lowercase")
        raise ValueError(f"image {image!r} is not a valid Docker reference ([registry/]repository:tag or repository@sha256:<64 hex>)")
    name, tag, digest = match.group("name"), match.group("tag"), match.group("digest")
    path = _ANCHORED_NAME.fullmatch(name)
    if path is not None and len(path.group("path")) > _NAME_MAX:
        raise ValueError(f"image {image[:40]!r}... has a repository name longer than Docker's {_NAME_MAX} characters")
    if digest is not None:
        algorithm, _, encoded = digest.partition(":")
        size = _DIGEST_HEX_LENGTH.get(algorithm)
        if size is None:
            raise ValueError(f"image {image!r} has a digest of an algorithm Docker does not support (sha256, sha384, sha512)")
        if len(encoded) != size or not re.fullmatch(r"[0-9a-f]+", encoded):
            raise ValueError(f"image {image!r} has a malformed {algorithm} digest (it is {size} lowercase hex characters)")
        return image
    if tag is None:
        raise ValueError(f"image {image!r} has no tag; pin one (e.g. {image}:1.2)")
    if tag == "latest":
        raise ValueError(f"image {image!r} uses 'latest'; pin a version tag")
    return image


# Docker's CPU bounds: moby daemon/daemon_unix.go sets a CFS period of 100 ms and quota = NanoCPUs * period, and
# the kernel refuses a quota below 1 ms, so the smallest limit is 0.01 ("range of CPUs is from 0.01 to <n>.00");
# docker/cli opts/opts.go ParseCPUs refuses a value finer than 1e-9 (checked, with the provider's read-back, by docker_cpus).
DOCKER_MIN_CPUS = Decimal("0.01")


def check_cpus(value: float | None) -> float | None:
    """A CPU limit Docker takes and pulumi-docker reads back as the same number (else every `up` replaces the container)."""
    if value is None:
        return None
    try:
        exact = Decimal(repr(value))
    except InvalidOperation:
        raise ValueError(f"{value} is not a number of CPUs") from None
    if not exact.is_finite():
        raise ValueError(f"{value} is not a finite number of CPUs")
    docker_cpus(value)
    if exact < DOCKER_MIN_CPUS:
        raise ValueError(f"{value} is below Docker's smallest CPU limit of {DOCKER_MIN_CPUS} (a 1 ms quota in a 100 ms period)")
    return value


def check_bind_address(address: str) -> str:
    """An IP address Docker can bind a published port to."""
    if "%" in address:
        # Docker's port bindings take a bare IP (nat.ParsePortSpec uses net.ParseIP, which has no zone)
        raise ValueError(f"{address!r} has a zone (%...); Docker binds published ports to a bare IP address")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{address!r} is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)") from None
    return address


def floating_tag(image: str, exact_parts: int) -> str | None:
    """Why `image` floats (moves under the user between two pulls), or None: a digest, or a tag whose version has
    `exact_parts` numeric parts (`redis:8.2.9-alpine`; `redis:8.2-alpine` and `redis:alpine` float)."""
    if "@sha256:" in image:
        return None
    repository, tag = split_reference(image)
    if version_parts(tag) >= exact_parts:
        return None
    example = ".".join(["1"] * exact_parts)
    return f"image {image!r} floats: it moves with each release of its line; pin a full version ({repository}:{example}) or a digest"


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are frozen once parsed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)
