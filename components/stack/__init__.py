"""Layer 6: the composition root: `ServiceMesh` and `build_stack`."""
