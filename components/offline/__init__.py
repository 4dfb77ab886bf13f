"""Layer 7: running the program without an engine: mock synthesis, query helpers, stack files,
the deployment graph and the bench.
"""
