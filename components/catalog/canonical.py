"""Values in the form the providers write them back, so a second `pulumi up` finds nothing to change.

pulumi-docker (terraform-provider-docker v4.5.0) reads a container's `cpus` and healthcheck durations back
from Docker and stores *that* text; an input written any other way ("1" for "1.0", "60s" for "1m0s") differs
from the state on every run. The offline harness (`components.offline.provider_state`) ports the providers'
own formatting independently and the lifecycle suite checks the two agree. This module imports no Pulumi.
"""

from __future__ import annotations

from fractions import Fraction

_NANOS = 10**9


def _float_string(value: Fraction, digits: int) -> str:
    """Go's `big.Rat.FloatString(digits)`: fixed point, the last digit rounded half away from zero."""
    scaled = abs(value) * 10**digits
    whole = int(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    sign = "-" if value < 0 else ""
    if digits == 0:
        return f"{sign}{whole}"
    text = str(whole).rjust(digits + 1, "0")
    return f"{sign}{text[:-digits]}.{text[-digits:]}"


def docker_cpus_text(nano_cpus: int) -> str:
    """terraform-provider-docker's `nanoInt64ToDecimalString` (internal/provider/helpers.go): how Read writes `cpus`."""
    if nano_cpus == 0:
        return "0"
    value = Fraction(nano_cpus, _NANOS)
    text = _float_string(value, 9)
    # the provider's test for a "round" value counts zeros in the whole string, so 10 reads back as "10."
    if text.count("0") == 9:
        return _float_string(value, 1)
    return text.rstrip("0")


def nano_cpus(cpus: float | str) -> int:
    """docker/cli `opts.ParseCPUs`: the value as an exact rational, times 1e9, which must be whole."""
    nanos = Fraction(str(cpus)) * _NANOS
    if nanos.denominator != 1:
        raise ValueError(f"{cpus} CPUs is too precise for Docker (at most 9 decimals)")
    return int(nanos)


def docker_cpus(cpus: float) -> str:
    """The `cpus` input in the provider's own form (1 -> "1.0", 0.5 -> "0.5", 2.25 -> "2.25").

    Raises ValueError for a value the provider would read back as another number (e.g. 0.05 reads as "0.1").
    """
    text = docker_cpus_text(nano_cpus(cpus))
    if Fraction(text.rstrip(".") or "0") != Fraction(str(cpus)):
        raise ValueError(f"pulumi-docker reads {cpus} CPUs back as {text!r}, so every `pulumi up` would replace the container")
    return text


def go_duration(seconds: int) -> str:
    """Go's `time.Duration.String()` of whole seconds, how pulumi-docker and pulumi-consul write durations back
    (60 -> "1m0s", 180 -> "3m0s", 10 -> "10s")."""
    if seconds < 0:
        raise ValueError("a duration is not negative")
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
