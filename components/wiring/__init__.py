"""Layer 5: per-service Pulumi glue: environment, uploads and rendered files for each container."""
