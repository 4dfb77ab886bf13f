"""`BackendImage`: the reference backend built from `backend/` on the local Docker daemon (no registry)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

BACKEND_CONTEXT = "./backend"
"""The build context, relative to the project directory (where Pulumi runs the program)."""


@dataclass(frozen=True)
class BackendImageArgs:
    image_name: str
    """The local tag, e.g. `service-mesh/backend:0.1.0` (from the catalog)."""
    context: str = BACKEND_CONTEXT


TYPE_TOKEN = "service-mesh:backend_image:BackendImage"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class BackendImage(pulumi.ComponentResource):
    image_ref: pulumi.Output[str]
    """Unique per build (`repoDigest`, the image ID for a local image): a rebuild replaces the container."""

    def __init__(self, name: str, args: BackendImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        # docker.Image hashes the context, so a change under backend/ rebuilds; skip_push keeps it local
        self.image = docker.Image(
            f"{name}-build",
            image_name=args.image_name,
            build=docker.DockerBuildArgs(context=args.context, builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT),
            skip_push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = self.image.repo_digest
        self.register_outputs({"image_ref": self.image_ref})
