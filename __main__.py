"""service-mesh: load the `mesh:*` config, build the mesh, export its outputs."""

import pulumi

from components.model.base import ConfigError
from components.stack.program import build_stack, local_docker_cpus, read_stack_config

try:
    stack = build_stack(read_stack_config(), host_cpus=local_docker_cpus())
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None  # one line, no traceback: it is the user's config

for key, value in stack.outputs.items():
    pulumi.export(key, value)
