"""Kong's value limits: the load-balancing algorithms, hash inputs, probe types and numeric ranges Kong accepts.

Shared by the gateway config model (which validates against them) and the Kong renderer. Pure: no Pulumi.
"""

from __future__ import annotations

import typing
from typing import Literal

Algorithm = Literal["round-robin", "least-connections", "consistent-hashing", "latency"]
ALGORITHMS: tuple[str, ...] = typing.get_args(Algorithm)
HashOn = Literal["none", "ip", "consumer", "path"]
HASH_INPUTS: tuple[str, ...] = typing.get_args(HashOn)
ProbeType = Literal["http", "tcp"]

# Kong's health counters and target weights (Admin API reference, upstream and target entities)
COUNTER_RANGE = (0, 255)
WEIGHT_RANGE = (0, 65535)
SECONDS_RANGE = (0, 65535)
