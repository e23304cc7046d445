"""The backends: one entry per runner, carrying what the rest of the tool asks of it, as mrjob's runner
classes own their alias and options. Adding a runner is adding an entry (and its modules); nothing
else branches on the runner's name to find its runner class, its options, its target or its
requests.

    runner    its Runner class (launcher/export/run/), which gives the lifecycle's parts
    options   the request fields only it reads among the cloud runners: set for another cloud runner,
              they are refused (`--glue-job --runner emr`), not silently ignored
    target    where its step runs (render: the artifacts' root and the classpath)
    requests  its service's requests, added to what render made (Glue's CreateJob and StartJobRun,
              EMR Serverless's CreateApplication and StartJobRun, EMR's bootstrap files and RunJobFlow)

The entries name code as "module:attribute" and load it on first use, so this table stays at the
bottom of the import graph (the option table and the pure renderer read it) and a command imports
only the runner it runs."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

EMR_OPTIONS = ("instance_type", "core_nodes", "spot", "service_role", "instance_profile", "subnet_id", "idle_timeout")


@dataclass(frozen=True)
class Backend:
    name: str
    runner: str
    options: tuple[str, ...] = ()
    target: str | None = None
    requests: str | None = None

    @property
    def cloud(self) -> bool:
        return self.target is not None

    def load(self, path: str) -> Any:
        module, attribute = path.split(":")
        return getattr(importlib.import_module(module), attribute)

    def runner_class(self) -> Any:
        return self.load(self.runner)


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("local", "launcher.export.run.local:LocalRunner"),
        Backend(
            "emr",
            "launcher.export.run.emr:EmrRunner",
            options=(*EMR_OPTIONS, "log_uri", "release_label"),
            target="launcher.export.render.base:emr_target",
            requests="launcher.export.render.emr_cluster:add_requests",
        ),
        Backend(
            "emr-serverless",
            "launcher.export.run.emr_serverless:EmrServerlessRunner",
            options=("log_uri", "release_label", "application_id", "execution_role", "workers"),
            target="launcher.export.render.base:emr_target",
            requests="launcher.export.render.serverless:add_requests",
        ),
        Backend(
            "glue",
            "launcher.export.run.glue:GlueRunner",
            options=("workers", "worker_type", "glue_job", "glue_role", "keep"),
            target="launcher.export.render.glue:target_of",
            requests="launcher.export.render.glue:add_requests",
        ),
    )
}
# engine native: DynamoDB's own export, whatever --runner says (no cluster, no Spark).
NATIVE = Backend("native", "launcher.export.run.native:NativeRunner")
CLOUD = tuple(name for name, b in BACKENDS.items() if b.cloud)


def misplaced_options(runner: str, fields_set: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The fields set that only other cloud runners read, each with the runners that read it (none
    for `--runner local`, whose request `render` shows as EMR steps, or auto, not chosen yet)."""
    if runner not in CLOUD:
        return []
    own = set(BACKENDS[runner].options)
    out = []
    for name in sorted(fields_set - own):
        readers = tuple(r for r in CLOUD if name in BACKENDS[r].options)
        if readers:
            out.append((name, readers))
    return out
