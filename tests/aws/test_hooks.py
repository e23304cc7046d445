"""The runners' hooks: each composes its artifact store and S3 log reader (built from its Aws and
S3 settings, or injected), and every AWS error leaves a hook call as one line of ours, a real call
against the local stack's servers that fails."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from helpers import unique_name
from launcher.aws.artifacts import ArtifactStore
from launcher.aws.emr_hook import EmrHook
from launcher.aws.emr_serverless_hook import EmrServerlessHook
from launcher.aws.glue_job_hook import GlueJobHook
from launcher.aws.logs import S3Logs
from launcher.aws.session import Aws
from launcher.core.errors import BadInput, DdbS3Error
from launcher.core.s3args import S3WriteSettings

HOOKS = [EmrHook, EmrServerlessHook, GlueJobHook]


class CountingAws(Aws):
    def __init__(self) -> None:
        super().__init__(region="us-east-1")
        self.made: list[str] = []

    def client(self, service: str) -> Any:
        self.made.append(service)
        return super().client(service)


def one_line_error(call: Any, cls: type[DdbS3Error] = DdbS3Error) -> str:
    """The call's error, of exactly `cls`, as its one line of text."""
    with pytest.raises(DdbS3Error) as err:
        call()
    assert type(err.value) is cls, repr(err.value)
    text = str(err.value)
    assert "\n" not in text and text.strip() == text, text
    return text


# --------------------------------------------------------------------------- composition


@pytest.mark.unit
@pytest.mark.parametrize("hook_class", HOOKS)
def test_hook_builds_its_store_and_log_reader_from_its_aws_and_settings(hook_class: Any) -> None:
    aws, settings = CountingAws(), S3WriteSettings(expected_bucket_owner="123456789012", sse="aws:kms")
    hook = hook_class(aws, settings=settings)
    assert isinstance(hook.artifacts, ArtifactStore) and isinstance(hook.logs, S3Logs)
    assert hook.artifacts.settings == hook.logs.settings == settings
    assert aws.made == []  # no client before the first call
    assert hook.artifacts.s3.meta.service_model.service_name == "s3" and aws.made == ["s3"]


@pytest.mark.unit
@pytest.mark.parametrize("hook_class", HOOKS)
def test_hook_takes_injected_parts(hook_class: Any) -> None:
    store, logs = ArtifactStore(Aws()), S3Logs(Aws())
    hook = hook_class(Aws(region="us-east-1"), artifacts=store, logs=logs)
    assert hook.artifacts is store and hook.logs is logs


@pytest.mark.unit
@pytest.mark.parametrize("hook_class", [EmrServerlessHook, GlueJobHook])
def test_job_run_hooks_have_no_cluster_calls(hook_class: Any) -> None:
    for name in ("run_job_flow", "terminate", "managed_clusters", "add_steps", "describe_step"):
        assert not hasattr(hook_class, name), name


# --------------------------------------------------------------------------- errors, one line


@pytest.mark.integration
def test_emr_calls_on_a_missing_cluster_are_our_errors(local_stack: Any) -> None:
    hook = EmrHook()
    text = one_line_error(lambda: hook.describe_cluster("j-MISSING0000"), BadInput)
    assert text.startswith("cluster j-MISSING0000 not found in us-east-1")
    # moto answers these with a 500 (its KeyError): still ours, never botocore's ClientError
    for call, what in [
        (lambda: hook.describe_step("j-MISSING0000", "s-MISSING"), "DescribeStep s-MISSING on j-MISSING0000 failed: "),
        (lambda: hook.step_ids("j-MISSING0000"), "ListSteps of j-MISSING0000 failed: "),
        (lambda: hook.terminate("j-MISSING0000"), "TerminateJobFlows j-MISSING0000 failed: "),
        (lambda: hook.add_steps("j-MISSING0000", []), "AddJobFlowSteps to j-MISSING0000 failed: "),
    ]:
        with pytest.raises(DdbS3Error) as err:
            call()
        assert str(err.value).startswith(what)


@pytest.mark.integration
def test_a_server_error_page_still_makes_one_line(local_stack: Any) -> None:
    one_line_error(lambda: EmrHook().describe_step("j-MISSING0000", "s-MISSING"))


@pytest.mark.integration
def test_emr_serverless_calls_on_a_missing_application_are_one_line(local_stack: Any) -> None:
    hook = EmrServerlessHook()
    text = one_line_error(lambda: hook.get_job_run("00missing", "00run"), BadInput)
    assert text == "GetJobRun 00run on 00missing failed: ResourceNotFoundException: Application 00missing does not exist"
    assert one_line_error(lambda: hook.get_application("00missing"), BadInput) == (
        "EMR Serverless application 00missing not found in us-east-1"
    )
    # teardown calls: DdbS3Error, not BadInput (nothing the user asked for is wrong)
    for call, what in [
        (lambda: hook.cancel_job_run("00missing", "00run"), "CancelJobRun 00run on 00missing"),
        (lambda: hook.stop_application("00missing"), "StopApplication 00missing"),
        (lambda: hook.delete_application("00missing"), "DeleteApplication 00missing"),
    ]:
        assert one_line_error(call) == f"{what} failed: ResourceNotFoundException: Application 00missing does not exist"


@pytest.mark.integration
def test_glue_calls_on_a_missing_job_are_one_line(local_stack: Any) -> None:
    hook = GlueJobHook()
    name = "ddb-s3-missing-job"
    text = one_line_error(lambda: hook.get_job_run(name, "jr_0"), BadInput)
    assert text == f"GetJobRun jr_0 of {name} failed: EntityNotFoundException: Job {name} not found."
    assert one_line_error(lambda: hook.get_job(name), BadInput) == f"Glue job {name!r} not found in us-east-1"
    assert hook.log_lines("/aws-glue/jobs/error", "jr_0") is None  # no such stream yet


@pytest.mark.integration
def test_glue_log_lines_reads_cloudwatch(local_stack: Any) -> None:
    hook = GlueJobHook()
    group, stream = "/aws-glue/jobs/error", unique_name("jr")
    with contextlib.suppress(hook.cloudwatch.exceptions.ResourceAlreadyExistsException):
        hook.cloudwatch.create_log_group(logGroupName=group)
    hook.cloudwatch.create_log_stream(logGroupName=group, logStreamName=stream)
    now = int(time.time() * 1000)
    hook.cloudwatch.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now + i, "message": f"line {i}\n"} for i in range(3)]
    )
    assert hook.log_lines(group, stream) == ["line 0", "line 1", "line 2"]
    assert hook.log_lines(group, stream, limit=1) == ["line 2"]


@pytest.mark.integration
def test_managed_clusters_describes_only_clusters_whose_name_can_be_ours(local_stack: Any) -> None:
    """After an interrupt the runner looks for its export's clusters: others' clusters in the account
    are never described (ListClusters names them; DescribeCluster on each would be one call per
    cluster of the whole account)."""
    from launcher.core.emr import CLUSTER_NAME_PREFIX, EXPORT_ID_TAG, MANAGED_TAG

    hook = EmrHook()
    export_id = unique_name("x")

    def cluster(name: str, tags: dict[str, str]) -> str:
        return hook.emr.run_job_flow(
            Name=name,
            ReleaseLabel="emr-7.9.0",
            ServiceRole="EMR_DefaultRole",
            JobFlowRole="EMR_EC2_DefaultRole",
            Instances={"MasterInstanceType": "m5.xlarge", "InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )["JobFlowId"]

    ours = cluster(f"{CLUSTER_NAME_PREFIX}T {export_id}", {MANAGED_TAG: "true", EXPORT_ID_TAG: export_id})
    others = [cluster(f"someone else's {i}", {}) for i in range(3)]
    described: list[str] = []
    hook.emr.meta.events.register("before-parameter-build.emr.DescribeCluster", lambda params, **_: described.append(params["ClusterId"]))
    try:
        assert [c["Id"] for c in hook.managed_clusters(export_id=export_id)] == [ours]
        assert described == [ours]
    finally:
        hook.emr.terminate_job_flows(JobFlowIds=[ours, *others])


@pytest.mark.unit
def test_every_cluster_we_start_is_named_with_the_prefix_the_hook_looks_for() -> None:
    from helpers import emr_plan
    from launcher.core.emr import CLUSTER_NAME_PREFIX
    from launcher.export.render.emr_cluster import cluster_name

    assert cluster_name(emr_plan()).startswith(CLUSTER_NAME_PREFIX)
