"""Serves the pack to the Pulumi engine (`pulumi preview --policy-pack policies`); blocks while it runs.

The engine starts this file with the pack's directory as the working directory; the rules are
imported as a package named after that directory, so tests import the same modules as `policies.*`.
"""

import importlib
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

_PACK_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(_PACK_DIR.parent))
rules = importlib.import_module(f"{_PACK_DIR.name}.rules")

PolicyPack(name="service-mesh", policies=rules.build_policies(), enforcement_level=EnforcementLevel.MANDATORY)
