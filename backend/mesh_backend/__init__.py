"""The reference backend API of the mesh: health, Prometheus metrics, and the mesh status behind JWT."""
