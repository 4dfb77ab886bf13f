"""Layer 5: per-service Pulumi glue: environment, uploads and rendered files for each container.

Public API:
- `registry.WIRING`: every service's `ServiceWiring`, merged with a duplicate check.
- `base.ServiceWiring`, `base.Need`, `base.WiringContext`, `base.Wiring`: what a wiring declares, receives
  and returns; `base.UndeclaredNeedError` when it reads something it did not declare.
"""
