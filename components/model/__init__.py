"""Layer 1, pure: the typed `mesh:*` stack config (pydantic). May import `catalog`; no Pulumi."""
