"""Layer 6: the composition root.

Public API:
- `program.build_stack`: stack config -> plan -> `ServiceMesh` -> stack outputs (what `__main__.py` runs).
- `mesh.ServiceMesh`: composes the components and resolves each wiring's declared needs.
"""
