"""Airflow operators for ddb-s3: export a table on EMR (or EMR Serverless, or Glue), verify an export,
restore one.

DdbS3ExportOperator builds the same ExportRequest as the CLI (same option names, same ddb-s3.toml
profiles, same DDB_S3_* variables) and goes through the CLI's flow (launcher.export.flow) with the
task's AWS connection: plan_export, make_runner, then run_and_verify when it waits in the worker.
Deferred, it calls the runner's own parts: submit in the worker, poll in the triggerer
(DdbS3RunTrigger), finish and verify when it resumes; every runner (emr, emr-serverless, glue)
defers. The export is verified without downloading it (S3's stored SHA-256 checksums against the
manifest, HeadObject only). What the task created is ended when the task succeeds, fails or is
killed; what it did not create never is. Each EMR cluster it starts is tagged with the task
instance, so a retry of the same task instance reattaches to a cluster still running instead of
starting a second one."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from launcher.airflow.connection import get_aws
from launcher.backends import CLOUD
from launcher.core.errors import BadInput, DdbS3Error
from launcher.options import ExportRequest, build_request

if TYPE_CHECKING:
    from launcher.export.flow import ExportOutcome
    from launcher.export.plan import ExportPlan
    from launcher.export.run import Handle, Runner

# The task instance (dag, task, run, map index) a cluster was started for, hashed (tag values allow
# few characters): a retry of that task instance finds its cluster by it.
AIRFLOW_TASK_TAG = "ddb-s3:airflow-task"
XCOM_KEYS = ("exportUri", "exportId", "clusterId", "itemCount")
RUNNERS = CLOUD  # the cloud backends (launcher/backends.py)


@contextmanager
def airflow_errors() -> Iterator[None]:
    """Our errors as Airflow's: bad input fails the task for good (a retry cannot fix the request),
    anything else may be retried."""
    try:
        yield
    except BadInput as e:
        raise AirflowFailException(f"ddb-s3: {e}") from None
    except DdbS3Error as e:
        raise AirflowException(f"ddb-s3: {e}") from None


def task_instance_tag(ti: Any) -> str | None:
    if ti is None or not getattr(ti, "run_id", None):
        return None
    ident = f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{getattr(ti, 'map_index', -1)}"
    return hashlib.sha256(ident.encode()).hexdigest()[:40]


class DdbS3ExportOperator(BaseOperator):
    """Export a DynamoDB table to S3 with Spark or Hive on EMR.

    :param table: DynamoDB table name (templated)
    :param to: destination s3://bucket/prefix (templated)
    :param cluster: "transient" (start, export, terminate) or an existing cluster id j-... (templated)
    :param runner: "emr" (default), "emr-serverless" or "glue", as the CLI's --runner (their settings,
        e.g. application_id, glue_job, workers, go in `options`)
    :param options: any other ExportRequest field by its name (region, engine, read_percent,
        instance_type, core_nodes, spot, log_uri, release_label, ...), as in ddb-s3.toml (templated)
    :param config_path: a ddb-s3.toml (default ./ddb-s3.toml or $DDB_S3_CONFIG, if present)
    :param config_profile: its [profiles.NAME] section (as the CLI's --config-profile; AWS's profile comes from aws_conn_id)
    :param aws_conn_id: Airflow connection for AWS (default None: the worker's boto3 chain)
    :param deferrable: wait for the run in the triggerer (DdbS3RunTrigger), holding no worker slot
        (default: Airflow's `[operators] default_deferrable`, as the Amazon provider's operators)
    :param verify: check the finished export against its manifest (default True; no data is downloaded)
    :param poll_seconds: how often to poll the run (default: the request's poll_seconds, as
        `--poll-seconds`: ddb-s3.toml, DDB_S3_POLL_SECONDS, else 30)
    :param max_wait_seconds: fail when the run is not done by then, and end what it created (default:
        the request's max_wait_seconds, else no limit)

    Returns (XCom) {"exportUri", "exportId", "clusterId", "itemCount"}; also pushes "clusterId" (the
    cluster, application or Glue job) and "stepIds" (its steps or job run) as soon as it is submitted.
    """

    template_fields: Sequence[str] = ("table", "to", "cluster", "runner", "options", "config_profile", "config_path", "aws_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"options": "json"}
    ui_color = "#f0e4ff"

    def __init__(
        self,
        *,
        table: str,
        to: str,
        cluster: str = "transient",
        runner: str = "emr",
        options: dict[str, Any] | None = None,
        config_path: str | None = None,
        config_profile: str | None = None,
        aws_conn_id: str | None = None,
        deferrable: bool | None = None,
        verify: bool = True,
        poll_seconds: float | None = None,
        max_wait_seconds: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.to = to
        self.cluster = cluster
        self.runner = runner
        self.options = options or {}
        self.config_path = config_path
        self.config_profile = config_profile
        self.aws_conn_id = aws_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.verify = verify
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self._runner: Runner | None = None

    def build_request(self) -> ExportRequest:
        if self.runner not in RUNNERS:
            raise BadInput(f"runner {self.runner!r}: the operator runs {', '.join(RUNNERS)}")
        flags = {**self.options, "table": self.table, "to": self.to, "cluster": self.cluster, "runner": self.runner}
        return build_request(flags, config_path=Path(self.config_path) if self.config_path else None, profile=self.config_profile)

    # --- the task ----------------------------------------------------------------------------

    def execute(self, context: Any) -> dict[str, Any] | None:
        from launcher.export.flow import plan_export, run_and_verify
        from launcher.export.plan import Engine

        ti = _ti(context)
        with airflow_errors():
            request = self.build_request()
            aws = get_aws(self.aws_conn_id, request.region)
            plan = plan_export(request, aws)
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
            tag = task_instance_tag(ti)
            runner = self._runner = self._make_runner(plan, aws)
            runner.tags = {AIRFLOW_TASK_TAG: tag} if tag else {}
            runner.submitted = lambda handle: _push_handle(ti, handle)
            found = self._previous_cluster(runner, plan, request, ti, tag)
            resume = None
            if found is not None:
                plan, resume = found
            try:
                if not self.deferrable:
                    return self._xcom(run_and_verify(plan, runner, aws, check=self.verify, resume=resume))
                with runner:  # what submit created is ended on the way out, unless detached
                    handle = resume or runner.submit(plan)
                    runner.submitted(handle)
                    runner.detach()  # the trigger waits; execute_complete (or the trigger's on_kill) ends it
            finally:
                self._runner = None
        self._defer(plan, handle)  # from here what the run created outlives this process
        return None  # not reached: defer() raises TaskDeferred

    def _defer(self, plan: ExportPlan, handle: Handle) -> None:
        from launcher.airflow.triggers import DdbS3RunTrigger

        max_wait = self._max_wait(plan)
        self.log.info("deferring: the triggerer waits for %s %s (%s)", plan.runner, handle.resource, ", ".join(handle.runs))
        self.defer(
            trigger=DdbS3RunTrigger(
                plan=plan.model_dump(mode="json"),
                handle=handle.doc(),
                aws_conn_id=self.aws_conn_id,
                poll_seconds=self._poll(plan),
                deadline=None if max_wait is None else time.time() + max_wait,
                since=time.time(),
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """After the trigger fired: the failure and its cause, or the verified export; ends what the
        task created."""
        from launcher.export.flow import ExportOutcome, check_export
        from launcher.export.plan import ExportPlan
        from launcher.export.run import Handle

        if not event or "plan" not in event or "handle" not in event:
            raise AirflowException(f"ddb-s3: the trigger sent no usable event: {event!r}")
        plan = ExportPlan.model_validate(event["plan"])
        handle = Handle.of(event["handle"])
        with airflow_errors():
            aws = get_aws(self.aws_conn_id, plan.region)
            runner = self._runner = self._make_runner(plan, aws)
            try:
                with runner:
                    runner.adopt(plan, handle)
                    if event.get("status") != "done":
                        raise DdbS3Error(event.get("message") or f"waiting for {handle.resource} failed")
                    result = runner.finish(plan, handle, None, time.time() - float(event.get("since") or time.time()))
            finally:
                self._runner = None
            report = check_export(result.export_uri, aws, plan.s3) if self.verify else None
            return self._xcom(ExportOutcome(plan, result, report))

    def on_kill(self) -> None:
        if self._runner is not None:
            self._runner.cleanup("the Airflow task was killed")

    # --- parts -------------------------------------------------------------------------------

    def _make_runner(self, plan: ExportPlan, aws: Any) -> Runner:
        """The CLI's runner with this task's connection. Airflow owns SIGTERM in the task process: it
        calls on_kill, which ends what the runner created."""
        from launcher.export.flow import make_runner

        runner = make_runner(plan, aws, self.log.info, install_signal_handlers=False)
        runner.poll_seconds = self._poll(plan)
        runner.max_wait_seconds = self._max_wait(plan)
        return runner

    def _poll(self, plan: ExportPlan) -> float:
        return self.poll_seconds if self.poll_seconds is not None else plan.poll_seconds

    def _max_wait(self, plan: ExportPlan) -> float | None:
        return self.max_wait_seconds if self.max_wait_seconds is not None else plan.max_wait_seconds

    def _xcom(self, done: ExportOutcome) -> dict[str, Any]:
        if done.report is not None:
            report = done.report
            self.log.info("verified %s: %d items in %d files; %s", done.export_uri, report.item_count, len(report.files), report.checked)
        doc = done.doc()
        return {key: doc[key] for key in XCOM_KEYS}

    def _previous_cluster(
        self, runner: Runner, plan: ExportPlan, request: ExportRequest, ti: Any, tag: str | None
    ) -> tuple[ExportPlan, Handle] | None:
        """On a retry of an emr task: the live cluster an earlier try of this task instance started,
        with the plan pointed at that try's export (its export id), or None."""
        from launcher.core.emr import ACCEPTING_STATES, EXPORT_ID_TAG, TABLE_TAG, tag_dict
        from launcher.export.run import Handle
        from launcher.export.run.emr import EmrRunner

        if not isinstance(runner, EmrRunner) or tag is None or not plan.transient or int(getattr(ti, "try_number", 1) or 1) <= 1:
            return None
        hook = runner.make_hook(plan)
        for cluster in hook.managed_clusters(states=ACCEPTING_STATES):
            tags = tag_dict(cluster)
            if tags.get(AIRFLOW_TASK_TAG) != tag or tags.get(TABLE_TAG) != plan.table.name or not tags.get(EXPORT_ID_TAG):
                continue
            export_id = tags[EXPORT_ID_TAG]
            self.log.info(
                "reattached to cluster %s, started by an earlier try of this task (export %s); no new cluster started",
                cluster["Id"],
                export_id,
            )
            return plan.with_export_id(export_id), Handle(cluster["Id"], tuple(hook.step_ids(cluster["Id"])), created=True)
        return None


def _push_handle(ti: Any, handle: Handle) -> None:
    if ti is not None:
        ti.xcom_push(key="clusterId", value=handle.resource)
        ti.xcom_push(key="stepIds", value=list(handle.runs))


class DdbS3VerifyOperator(BaseOperator):
    """Verify an export (`ddb-s3 verify`): on S3, sizes and SHA-256 checksums S3 stores against the
    manifest, HeadObject only, no data downloaded; `deep=True` reads every line.

    :param export_uri: s3://.../AWSDynamoDB/<export-id>/ (or a local folder) (templated)
    :param options: VerifyOptions fields (region, expected_bucket_owner, deep) (templated)
    :param aws_conn_id: Airflow connection for AWS (default None: the worker's boto3 chain)

    Returns (XCom) {"exportUri", "itemCount", "dataFiles", "checked"}; fails when a check fails.
    """

    template_fields: Sequence[str] = ("export_uri", "options", "aws_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"options": "json"}
    ui_color = "#e4f0ff"

    def __init__(self, *, export_uri: str, options: dict[str, Any] | None = None, aws_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.export_uri = export_uri
        self.options = options or {}
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from launcher.backup.verify import verify_export
        from launcher.core.s3args import S3WriteSettings
        from launcher.options import VerifyOptions

        opts = _options(VerifyOptions, self.options)
        with airflow_errors():
            report = verify_export(
                self.export_uri, get_aws(self.aws_conn_id, opts.region), S3WriteSettings(opts.expected_bucket_owner), deep=opts.deep
            )
        if not report.ok:
            raise AirflowException(f"ddb-s3: {self.export_uri} failed verification: {'; '.join(report.problems[:5])}")
        self.log.info("verified %s: %d items in %d files; %s", self.export_uri, report.item_count, len(report.files), report.checked)
        return {"exportUri": self.export_uri, "itemCount": report.item_count, "dataFiles": len(report.files), "checked": report.checked}


class DdbS3RestoreOperator(BaseOperator):
    """Restore an export into a table (`ddb-s3 restore`): conditional puts, never overwriting
    unless `options={"overwrite": True}`.

    :param export_uri: s3://.../AWSDynamoDB/<export-id>/ (or a local folder) (templated)
    :param table: the table to write into (templated)
    :param options: RestoreOptions fields (create_table, overwrite, write_percent, checkpoint, ...) (templated)
    :param aws_conn_id: Airflow connection for AWS (default None: the worker's boto3 chain)

    Returns (XCom) the restore's counts, as `ddb-s3 restore --json` prints them.
    """

    template_fields: Sequence[str] = ("export_uri", "table", "options", "aws_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"options": "json"}
    ui_color = "#e4ffe9"

    def __init__(
        self, *, export_uri: str, table: str, options: dict[str, Any] | None = None, aws_conn_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.export_uri = export_uri
        self.table = table
        self.options = options or {}
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Any) -> Any:
        from launcher.backup.restore import restore
        from launcher.core.s3args import S3WriteSettings
        from launcher.options import RestoreOptions

        opts = _options(RestoreOptions, {**self.options, "table": self.table})
        with airflow_errors():
            result = restore(
                self.export_uri,
                opts,
                get_aws(self.aws_conn_id, opts.region),
                S3WriteSettings(opts.expected_bucket_owner),
                say=self.log.info,
            )
        self.log.info("%s", result.line())
        return json.loads(json.dumps(dataclasses.asdict(result), default=str))


def default_deferrable() -> bool:
    from airflow.sdk import conf

    return bool(conf.getboolean("operators", "default_deferrable", fallback=False))


def _options(cls: Any, values: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from launcher.options import one_line

    try:
        return cls(**values)
    except ValidationError as e:
        raise AirflowFailException(f"ddb-s3: {one_line(e)}") from None


def _ti(context: Any) -> Any:
    try:
        return context.get("ti") or context.get("task_instance")
    except AttributeError:
        return None
