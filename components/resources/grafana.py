"""`GrafanaStack`: Grafana's content as Pulumi resources: its provider, data sources, a folder and the dashboards.

The provider is configured from stable values (the URL from config, `admin:<generated password>`)
and depends on the Grafana container, which `wait=True` holds until Grafana answers its healthcheck.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumiverse_grafana as grafana

from components.render.dashboards import DashboardSpec
from components.render.datasources import DatasourceSpec

FOLDER_UID = "service-mesh"
ADMIN_USER = "admin"


@dataclass(frozen=True)
class GrafanaStackArgs:
    url: str
    """Where the provider reaches Grafana (known at preview: never a computed output)."""
    admin_password: pulumi.Input[str]
    """The generated admin password (secret)."""
    grafana_containers: Sequence[pulumi.Resource]
    """The Grafana container(s): the provider talks to Grafana only once they are healthy."""
    datasources: Sequence[DatasourceSpec]
    dashboards: Sequence[DashboardSpec]
    folder_title: str = "Service mesh"


TYPE_TOKEN = "service-mesh:grafana:GrafanaStack"
"""Part of the URN of every resource below it: changing it makes `pulumi up` replace them all."""


class GrafanaStack(pulumi.ComponentResource):
    provider: grafana.Provider
    datasources: dict[str, grafana.oss.DataSource]
    folder: grafana.oss.Folder
    dashboards: dict[str, grafana.oss.Dashboard]
    dashboard_urls: dict[str, str]
    url: str

    def __init__(self, name: str, args: GrafanaStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.url = args.url
        auth: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.concat(f"{ADMIN_USER}:", args.admin_password))
        self.provider = grafana.Provider(
            f"{name}-provider",
            url=args.url,
            auth=auth,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.grafana_containers)),
        )
        managed = pulumi.ResourceOptions(parent=self, provider=self.provider)

        self.datasources = {
            spec.uid: grafana.oss.DataSource(
                f"{name}-{spec.uid}",
                uid=spec.uid,
                name=spec.name,
                type=spec.type,
                url=spec.url,
                access_mode="proxy",
                is_default=spec.is_default,
                json_data_encoded=spec.json_data_encoded,
                opts=managed,
            )
            for spec in args.datasources
        }
        self.folder = grafana.oss.Folder(f"{name}-folder", uid=FOLDER_UID, title=args.folder_title, opts=managed)
        # dashboards reference the data sources by uid: create those first
        self.dashboards = {
            spec.uid: grafana.oss.Dashboard(
                f"{name}-{spec.uid}",
                config_json=spec.config_json,
                folder=self.folder.uid,
                overwrite=True,
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=list(self.datasources.values())),
            )
            for spec in args.dashboards
        }
        self.dashboard_urls = {spec.title: f"{args.url}/d/{spec.uid}" for spec in args.dashboards}
        self.register_outputs({"url": args.url, "dashboards": self.dashboard_urls, "datasources": list(self.datasources)})
