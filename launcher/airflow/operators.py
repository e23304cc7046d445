"""DdbS3ExportOperator: `ddb-s3 export --runner emr` as an Airflow task.

It builds the same ExportRequest as the CLI (same option names, same ddb-s3.toml profiles, same
DDB_S3_* variables), and runs the CLI's own export flow (launcher.export.flow: plan, EmrRunner, verify with the
plan's region and ExpectedBucketOwner). A failed step fails the task
with the step's failure reason and probable cause; a cluster the task started is terminated when
the task succeeds, fails, or is killed (on_kill), and a cluster it did not start never is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from launcher.core.errors import BadInput, DdbS3Error
from launcher.options import ExportRequest, build_request


class DdbS3ExportOperator(BaseOperator):
    """Export a DynamoDB table to S3 with Spark or Hive on EMR.

    :param table: DynamoDB table name
    :param to: destination s3://bucket/prefix
    :param cluster: "transient" (start, export, terminate) or an existing cluster id j-...
    :param options: any other ExportRequest field by its name (region, engine, read_percent,
        instance_type, core_nodes, spot, log_uri, release_label, ...), as in ddb-s3.toml
    :param config_path: a ddb-s3.toml (default ./ddb-s3.toml or $DDB_S3_CONFIG, if present)
    :param profile: its [profiles.NAME] section
    :param verify: check the finished export's manifests and checksums (default True)
    :param poll_seconds: how often to poll the cluster and steps
    :param max_wait_seconds: fail when the steps are not done by then (default: no limit)
    :param waiter: replaces the wait for the steps (tests; see launcher.export.run.emr.Waiter)

    Returns (XCom) {"exportUri", "exportId", "clusterId", "itemCount"}.
    """

    template_fields: Sequence[str] = ("table", "to", "cluster", "options", "profile")
    template_fields_renderers: ClassVar[dict[str, str]] = {"options": "json"}
    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        table: str,
        to: str,
        cluster: str = "transient",
        options: dict[str, Any] | None = None,
        config_path: str | None = None,
        profile: str | None = None,
        verify: bool = True,
        poll_seconds: float = 30.0,
        max_wait_seconds: float | None = None,
        waiter: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.to = to
        self.cluster = cluster
        self.options = options or {}
        self.config_path = config_path
        self.profile = profile
        self.verify = verify
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.waiter = waiter
        self._runner: Any = None

    def build_request(self) -> ExportRequest:
        flags = {**self.options, "table": self.table, "to": self.to, "cluster": self.cluster, "runner": "emr"}
        return build_request(flags, config_path=Path(self.config_path) if self.config_path else None, profile=self.profile)

    def execute(self, context: Any) -> dict[str, Any]:
        from launcher.export.flow import plan_export, run_and_verify
        from launcher.export.plan import Engine
        from launcher.export.run.emr import EmrRunner, StepWaiter

        try:
            plan = plan_export(self.build_request())
            self.log.info(
                "plan: export %s with engine %s (%s); estimate %s; destination %s",
                self.table,
                plan.engine,
                plan.engine_reason,
                plan.estimate_text,
                plan.export_uri,
            )
            if plan.engine == Engine.NATIVE:
                raise BadInput(
                    "engine native needs no cluster: use `ddb-s3 export --engine native` or the Amazon provider's DynamoDBToS3Operator"
                )
            # Airflow owns SIGTERM in the task process; it calls on_kill, which terminates our cluster.
            self._runner = EmrRunner(
                progress=self.log.info,
                install_signal_handlers=False,
                waiter=self.waiter or StepWaiter(self.poll_seconds, self.max_wait_seconds),
            )
            done = run_and_verify(plan, self._runner, check=self.verify)
            doc = done.doc()
            return {k: doc[k] for k in ("exportUri", "exportId", "clusterId", "itemCount")}
        except BadInput as e:
            raise AirflowFailException(f"ddb-s3: {e}") from None  # retrying cannot fix the request
        except DdbS3Error as e:
            raise AirflowException(f"ddb-s3: {e}") from None

    def on_kill(self) -> None:
        if self._runner is not None:
            self._runner.cleanup("the Airflow task was killed")
