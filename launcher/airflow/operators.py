"""Airflow operators for ddb-s3: export a table on EMR (or EMR Serverless, or Glue), verify an export,
restore one.

DdbS3ExportOperator builds the same ExportRequest as the CLI (same option names, same ddb-s3.toml
profiles, same DDB_S3_* variables) and plans it with the CLI's flow (launcher.export.flow), then
runs it with EmrRunner's parts: submit (upload, RunJobFlow or AddJobFlowSteps), wait (in the worker,
or deferred to DdbS3StepTrigger in the triggerer), finish (the failed step's reason and probable
cause), then verifies the export without downloading it (S3's stored SHA-256 checksums against the
manifest, HeadObject only). A cluster the task started is terminated when the task succeeds, fails
or is killed; a cluster it did not start never is. Each cluster it starts is tagged with the task
instance, so a retry of the same task instance reattaches to a cluster still running instead of
starting a second one.

`runner="emr-serverless"` or `runner="glue"` takes the CLI's runner of that name (the same plan and
rendered job, launcher/export/run/emr_serverless.py and glue.py): the task waits in the worker (not
deferrable), and its job run is cancelled and what it created deleted when the task fails or is killed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from launcher.airflow.connection import get_aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.options import ExportRequest, build_request

if TYPE_CHECKING:
    from launcher.aws.session import Aws
    from launcher.export.plan import ExportPlan
    from launcher.export.run.emr import EmrRunner, Submitted

# The task instance (dag, task, run, map index) a cluster was started for, hashed (tag values allow
# few characters): a retry of that task instance finds its cluster by it.
AIRFLOW_TASK_TAG = "ddb-s3:airflow-task"
XCOM_KEYS = ("exportUri", "exportId", "clusterId", "itemCount")
RUNNERS = ("emr", "emr-serverless", "glue")


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
    :param runner: "emr" (default), "emr-serverless" or "glue", as the CLI's --runner; the last two wait
        in the worker (their settings, e.g. application_id, glue_job, workers, go in `options`)
    :param options: any other ExportRequest field by its name (region, engine, read_percent,
        instance_type, core_nodes, spot, log_uri, release_label, ...), as in ddb-s3.toml (templated)
    :param config_path: a ddb-s3.toml (default ./ddb-s3.toml or $DDB_S3_CONFIG, if present)
    :param profile: its [profiles.NAME] section
    :param aws_conn_id: Airflow connection for AWS (default None: the worker's boto3 chain)
    :param deferrable: wait for the steps in the triggerer (DdbS3StepTrigger), holding no worker slot
        (default: Airflow's `[operators] default_deferrable`, as the Amazon provider's operators)
    :param verify: check the finished export against its manifest (default True; no data is downloaded)
    :param poll_seconds: how often to poll the cluster and steps (default: the request's
        poll_seconds, as `--poll-seconds`: ddb-s3.toml, DDB_S3_POLL_SECONDS, else 30)
    :param max_wait_seconds: fail when the steps are not done by then (default: no limit)
    :param waiter: replaces the in-worker wait for the steps (tests; see launcher.export.run.emr.Waiter)

    Returns (XCom) {"exportUri", "exportId", "clusterId", "itemCount"}; also pushes "clusterId" and
    "stepIds" as soon as the steps are submitted.
    """

    template_fields: Sequence[str] = ("table", "to", "cluster", "runner", "options", "profile", "config_path", "aws_conn_id")
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
        profile: str | None = None,
        aws_conn_id: str | None = None,
        deferrable: bool | None = None,
        verify: bool = True,
        poll_seconds: float | None = None,
        max_wait_seconds: float | None = None,
        waiter: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.to = to
        self.cluster = cluster
        self.runner = runner
        self.options = options or {}
        self.config_path = config_path
        self.profile = profile
        self.aws_conn_id = aws_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.verify = verify
        self.poll_seconds = poll_seconds
        self.max_wait_seconds = max_wait_seconds
        self.waiter = waiter
        self._runner: Any = None

    def build_request(self) -> ExportRequest:
        if self.runner not in RUNNERS:
            raise BadInput(f"runner {self.runner!r}: the operator runs {', '.join(RUNNERS)}")
        flags = {**self.options, "table": self.table, "to": self.to, "cluster": self.cluster, "runner": self.runner}
        return build_request(flags, config_path=Path(self.config_path) if self.config_path else None, profile=self.profile)

    # --- the task ----------------------------------------------------------------------------

    def execute(self, context: Any) -> dict[str, Any] | None:
        from launcher.aws.emr_hook import EmrHook
        from launcher.export.flow import plan_export
        from launcher.export.plan import Engine
        from launcher.export.run.emr import StepWaiter

        try:
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
            if plan.runner != "emr":
                return self._run_job(plan, aws)
            ti = _ti(context)
            tag = task_instance_tag(ti)
            # Airflow owns SIGTERM in the task process; it calls on_kill, which terminates our cluster.
            runner = self._runner = self._make_runner(EmrHook(aws, settings=plan.s3))
            found = self._previous_cluster(runner.make_hook(plan), plan, request, ti, tag)
            start = time.monotonic()
            with runner:  # a cluster registered with the runner is terminated on the way out, unless detached
                if found is not None:
                    plan, submitted = found
                    runner.adopt(plan, submitted.cluster_id)
                else:
                    submitted = runner.submit(plan, {AIRFLOW_TASK_TAG: tag} if tag else None)
                if ti is not None:
                    ti.xcom_push(key="clusterId", value=submitted.cluster_id)
                    ti.xcom_push(key="stepIds", value=submitted.step_ids)
                if self.deferrable:
                    runner.detach()  # the trigger waits; execute_complete (or the trigger's on_kill) ends the cluster
                    cluster_id = None
                else:
                    waiter = self.waiter or StepWaiter(self._poll(plan), self.max_wait_seconds)
                    steps = waiter(runner.make_hook(plan), submitted.cluster_id, submitted.step_ids, self.log.info)
                    cluster_id = runner.finish(plan, submitted.cluster_id, submitted.step_ids, steps, time.monotonic() - start).cluster_id
            if cluster_id is not None:
                return self._verified(plan, aws, cluster_id)
        except BadInput as e:
            raise AirflowFailException(f"ddb-s3: {e}") from None  # retrying cannot fix the request
        except DdbS3Error as e:
            raise AirflowException(f"ddb-s3: {e}") from None
        finally:
            self._runner = None
        self._defer(plan, submitted)  # outside the `with`: from here the cluster outlives this process
        return None  # not reached: defer() raises TaskDeferred

    def _defer(self, plan: ExportPlan, submitted: Submitted) -> None:
        from launcher.airflow.triggers import DdbS3StepTrigger

        self.log.info("deferring: the triggerer waits for %d step(s) on %s", len(submitted.step_ids), submitted.cluster_id)
        self.defer(
            trigger=DdbS3StepTrigger(
                cluster_id=submitted.cluster_id,
                step_ids=submitted.step_ids,
                region=plan.region,
                aws_conn_id=self.aws_conn_id,
                poll_seconds=self._poll(plan),
                deadline=time.time() + self.max_wait_seconds if self.max_wait_seconds is not None else None,
                started=submitted.started,
                resume={"plan": plan.model_dump(mode="json"), "started": submitted.started, "since": time.time()},
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """After the trigger fired: the failure and its cause, or the verified export; ends our cluster."""
        from launcher.aws.emr_hook import EmrHook
        from launcher.export.plan import ExportPlan

        if not event or "resume" not in event:
            raise AirflowException(f"ddb-s3: the trigger sent no usable event: {event!r}")
        resume = event["resume"]
        plan = ExportPlan.model_validate(resume["plan"])
        cluster_id, step_ids = event["clusterId"], event["stepIds"]
        try:
            aws = get_aws(self.aws_conn_id, plan.region)
            runner = self._runner = self._make_runner(EmrHook(aws, settings=plan.s3))
            with runner:
                if resume.get("started"):
                    runner.adopt(plan, cluster_id)
                if event.get("status") != "done":
                    raise DdbS3Error(event.get("message") or f"waiting for {cluster_id} failed")
                runner.finish(plan, cluster_id, step_ids, None, time.time() - float(resume.get("since", time.time())))
            return self._verified(plan, aws, cluster_id)
        except BadInput as e:
            raise AirflowFailException(f"ddb-s3: {e}") from None
        except DdbS3Error as e:
            raise AirflowException(f"ddb-s3: {e}") from None
        finally:
            self._runner = None

    def on_kill(self) -> None:
        if self._runner is not None:
            self._runner.cleanup("the Airflow task was killed")

    # --- parts -------------------------------------------------------------------------------

    def _run_job(self, plan: ExportPlan, aws: Aws) -> dict[str, Any]:
        """runner emr-serverless or glue: the CLI's runner with this task's AWS connection, waiting here;
        on_kill (or a failure) cancels the run and deletes what the runner created."""
        from launcher.aws.emr_serverless_hook import EmrServerlessHook
        from launcher.aws.glue_job_hook import GlueJobHook
        from launcher.export.run.emr_serverless import EmrServerlessRunner
        from launcher.export.run.glue import GlueRunner

        runner: Any
        if plan.runner == "glue":
            runner = GlueRunner(
                self.log.info, hook=GlueJobHook(aws, settings=plan.s3), poll_seconds=self._poll(plan), install_signal_handlers=False
            )
        else:
            hook = EmrServerlessHook(aws, settings=plan.s3)
            runner = EmrServerlessRunner(self.log.info, hook=hook, poll_seconds=self._poll(plan), install_signal_handlers=False)
        if self.deferrable:
            self.log.info("runner %s waits in the worker: only the emr runner defers", plan.runner)
        self._runner = runner
        result = runner.run(plan)
        return self._verified(plan, aws, result.cluster_id)

    def _poll(self, plan: ExportPlan) -> float:
        return self.poll_seconds if self.poll_seconds is not None else plan.poll_seconds

    def _make_runner(self, hook: Any) -> EmrRunner:
        from launcher.export.run.emr import EmrRunner

        return EmrRunner(progress=self.log.info, hook=hook, install_signal_handlers=False)

    def _verified(self, plan: ExportPlan, aws: Aws, cluster_id: str | None) -> dict[str, Any]:
        """The XCom; with `verify`, after checking the export as the CLI does (launcher.export.flow):
        the plan's ExpectedBucketOwner and SSE, S3's stored checksums (no data downloaded)."""
        from launcher.backup.verify import verify_export

        item_count = None
        if self.verify:
            try:
                report = verify_export(plan.export_uri, aws, plan.s3, deep=False)
            except DdbS3Error as e:
                raise AirflowException(f"ddb-s3: {e}") from None
            if not report.ok:
                raise AirflowException(f"ddb-s3: export {plan.export_uri} failed verification: {report.problems[0]}")
            self.log.info("verified %s: %d items in %d files; %s", plan.export_uri, report.item_count, len(report.files), report.checked)
            item_count = report.item_count
        return {"exportUri": plan.export_uri, "exportId": plan.export_id, "clusterId": cluster_id, "itemCount": item_count}

    def _previous_cluster(
        self, hook: Any, plan: ExportPlan, request: ExportRequest, ti: Any, tag: str | None
    ) -> tuple[ExportPlan, Submitted] | None:
        """On a retry: the live cluster an earlier try of this task instance started, with the plan
        pointed at that try's export (its export id), or None."""
        from launcher.aws.emr_hook import tag_dict
        from launcher.core import layout
        from launcher.core.emr import ACCEPTING_STATES, EXPORT_ID_TAG, TABLE_TAG
        from launcher.export.run.emr import Submitted

        if tag is None or not plan.transient or int(getattr(ti, "try_number", 1) or 1) <= 1:
            return None
        for cluster in hook.managed_clusters(states=ACCEPTING_STATES):
            tags = tag_dict(cluster)
            if tags.get(AIRFLOW_TASK_TAG) != tag or tags.get(TABLE_TAG) != plan.table.name or not tags.get(EXPORT_ID_TAG):
                continue
            export_id = tags[EXPORT_ID_TAG]
            old = plan.model_copy(
                update={
                    "export_id": export_id,
                    "export_root": layout.export_root(request.destination.key, export_id),
                    "artifacts_uri": plan.artifacts_uri.rsplit("/", 1)[0] + "/" + export_id,
                }
            )
            step_ids = hook.step_ids(cluster["Id"])
            self.log.info(
                "reattached to cluster %s, started by an earlier try of this task (export %s); no new cluster started",
                cluster["Id"],
                export_id,
            )
            return old, Submitted(cluster["Id"], step_ids, started=True)
        return None


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
        try:
            report = verify_export(
                self.export_uri, get_aws(self.aws_conn_id, opts.region), S3WriteSettings(opts.expected_bucket_owner), deep=opts.deep
            )
        except BadInput as e:
            raise AirflowFailException(f"ddb-s3: {e}") from None
        except DdbS3Error as e:
            raise AirflowException(f"ddb-s3: {e}") from None
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
        try:
            result = restore(
                self.export_uri,
                opts,
                get_aws(self.aws_conn_id, opts.region),
                S3WriteSettings(opts.expected_bucket_owner),
                say=self.log.info,
            )
        except BadInput as e:
            raise AirflowFailException(f"ddb-s3: {e}") from None
        except DdbS3Error as e:
            raise AirflowException(f"ddb-s3: {e}") from None
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
