"""Layer 7: running the program without an engine, for tests, `make plan`, `make bench` and the policy pack.

Public API:
- `synth.synthesize`, `synth.Capture`: the program under mocks, and the asserting query surface over it.
- `assertions.Match`, `assertions.mismatches`: CDK-style partial matching with a mismatch report.
- `types.CONTAINER`: every resource type token, once (`types.COMPONENTS` for the project's own).
- `resource_count.expected_resources`, `deploy_graph.analyse`, `stack_file.read_stack_file`, `bench.BenchReport`.
"""
