"""EmrRunner against moto's EMR API (a real server on the local stack).

moto accepts clusters and steps but never finishes a step, so these tests inject the step
outcome through the runner's `waiter` strategy (FakeOutcome below); everything else (uploads,
RunJobFlow, AddJobFlowSteps, ListSteps, DescribeCluster, TerminateJobFlows) really runs against
the server. The real wait loop and log fetching are tested with recorded responses in
test_emr_runner_stubbed.py."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from launcher.aws.emr_hook import EmrHook, tag_dict
from launcher.core.emr import ACTIVE_CLUSTER_STATES, EXPORT_ID_TAG
from launcher.core.errors import BadInput, DdbS3Error
from launcher.export.flow import plan_export
from launcher.export.render.base import Target
from launcher.export.render import render_export
from launcher.options import build_request
from launcher.export.run.emr import EmrRunner

pytestmark = pytest.mark.integration
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


class FakeOutcome:
    """Stands in for the wait: checks that moto really holds the steps (not yet finished), then
    reports them as `state`, as a real cluster would after the Spark job ran."""

    def __init__(self, state: str = "COMPLETED", raise_: BaseException | None = None):
        self.state, self.raise_, self.calls = state, raise_, []

    def __call__(self, hook, cluster_id, step_ids, progress):
        steps = [hook.describe_step(cluster_id, s) for s in step_ids]
        assert all(s["Status"]["State"] in ("PENDING", "RUNNING") for s in steps)
        self.calls.append((cluster_id, step_ids))
        if self.raise_:
            raise self.raise_
        for s in steps:
            s["Status"]["State"] = self.state
            if self.state == "FAILED":
                s["Status"]["FailureDetails"] = {"Reason": "Unknown Error", "Message": "exit code 1"}
        return steps


@pytest.fixture
def emr(local_stack):
    return boto3.client("emr")


@pytest.fixture
def helper_jar(tmp_path):
    jar = tmp_path / "ddb-s3-spark-helpers-0.1.0.jar"
    jar.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip: the runner only uploads it
    return jar


@pytest.fixture
def table(fresh_table, ddb):
    name = fresh_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    return name


def plan(table, bucket, **flags):
    return plan_export(build_request({"table": table, "to": f"s3://{bucket}/ddb", "runner": "emr", **flags}, environ={}))


def recording_hook():
    client = boto3.client("emr")
    sent: list[dict] = []
    client.meta.events.register("provide-client-params.emr.RunJobFlow", lambda params, **_: sent.append(dict(params)))
    return EmrHook(emr=client, s3=boto3.client("s3")), sent


def active_ids(emr) -> set[str]:
    return {c["Id"] for c in emr.list_clusters(ClusterStates=list(ACTIVE_CLUSTER_STATES))["Clusters"]}


def all_ids(emr) -> set[str]:
    return {c["Id"] for c in emr.list_clusters()["Clusters"]}


def test_transient_run_creates_one_cluster_adds_steps_and_terminates_it(table, bucket, emr, s3, helper_jar):
    p = plan(table, bucket, log_uri=f"s3://{bucket}/logs/", python_packages="boto3==1.44.5")
    hook, sent = recording_hook()
    waiter = FakeOutcome("COMPLETED")
    before = all_ids(emr)
    lines: list[str] = []
    result = EmrRunner(lines.append, hook=hook, waiter=waiter, helper_jar=helper_jar).run(p)

    new = all_ids(emr) - before
    assert new == {result.cluster_id} and len(sent) == 1
    expected = render_export(p, Target.emr(p.artifacts_uri)).run_job_flow
    assert sent[0] == expected
    cluster = emr.describe_cluster(ClusterId=result.cluster_id)["Cluster"]
    assert cluster["Status"]["State"] == "TERMINATED"
    assert tag_dict(cluster)[EXPORT_ID_TAG] == p.export_id
    steps = emr.list_steps(ClusterId=result.cluster_id)["Steps"]
    assert [s["Name"] for s in steps] == [s["Name"] for s in expected["Steps"]]
    assert waiter.calls == [(result.cluster_id, [s["Id"] for s in steps])]
    root = p.artifacts_uri.removeprefix(f"s3://{bucket}/")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=root)["Contents"]}
    assert {f"{root}/export_job.py", f"{root}/ddbs3_job.zip", f"{root}/ddb-s3-spark-helpers.jar",
            f"{root}/bootstrap/install-python-deps.sh"} <= keys
    assert any(line.startswith(f"terminated cluster {result.cluster_id}") for line in lines)


def test_transient_failure_raises_and_terminates(table, bucket, emr, helper_jar):
    p = plan(table, bucket)
    before = all_ids(emr)
    with pytest.raises(DdbS3Error, match=r"FAILED.*Unknown Error: exit code 1.*no --log-uri"):
        EmrRunner(lambda m: None, waiter=FakeOutcome("FAILED"), helper_jar=helper_jar).run(p)
    (cid,) = all_ids(emr) - before
    assert emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"] == "TERMINATED"


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), RuntimeError("boom")])
def test_transient_interrupted_wait_terminates(table, bucket, emr, helper_jar, interrupt):
    p = plan(table, bucket)
    before = all_ids(emr)
    with pytest.raises(type(interrupt)):
        EmrRunner(lambda m: None, waiter=FakeOutcome(raise_=interrupt), helper_jar=helper_jar).run(p)
    (cid,) = all_ids(emr) - before
    assert emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"] == "TERMINATED"


@pytest.fixture
def user_cluster(emr):
    """A long-running cluster the user started (no ddb-s3 tags)."""
    cid = emr.run_job_flow(Name="user-cluster", ReleaseLabel="emr-7.9.0", ServiceRole="EMR_DefaultRole",
                           JobFlowRole="EMR_EC2_DefaultRole",
                           Instances={"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge",
                                      "InstanceCount": 3, "KeepJobFlowAliveWhenNoSteps": True})["JobFlowId"]
    yield cid
    emr.terminate_job_flows(JobFlowIds=[cid])


@pytest.mark.parametrize("outcome", ["COMPLETED", "FAILED"])
def test_existing_cluster_gets_steps_and_is_never_terminated(table, bucket, emr, user_cluster, helper_jar, outcome):
    p = plan(table, bucket, cluster=user_cluster)
    hook, sent = recording_hook()
    before = all_ids(emr)
    runner = EmrRunner(lambda m: None, hook=hook, waiter=FakeOutcome(outcome), helper_jar=helper_jar)
    if outcome == "FAILED":
        with pytest.raises(DdbS3Error):
            runner.run(p)
    else:
        assert runner.run(p).cluster_id == user_cluster
    assert all_ids(emr) == before and sent == []
    assert emr.describe_cluster(ClusterId=user_cluster)["Cluster"]["Status"]["State"] in ("RUNNING", "WAITING")
    steps = emr.list_steps(ClusterId=user_cluster)["Steps"]
    assert len(steps) == 1 and steps[0]["Config"]["Args"][0] == "spark-submit"
    assert steps[0]["ActionOnFailure"] == "CONTINUE"


def test_existing_cluster_must_exist_and_accept_steps(table, bucket, emr, user_cluster, helper_jar):
    runner = EmrRunner(lambda m: None, waiter=FakeOutcome(), helper_jar=helper_jar)
    with pytest.raises(BadInput, match="not found"):
        runner.run(plan(table, bucket, cluster="j-NOSUCHCLUSTER"))
    emr.terminate_job_flows(JobFlowIds=[user_cluster])
    with pytest.raises(BadInput, match=f"cluster {user_cluster} is TERMINATED"):
        runner.run(plan(table, bucket, cluster=user_cluster))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_killing_the_cli_leaves_no_cluster_running(table, bucket, emr, tmp_path, helper_jar, sig):
    """The real CLI in a subprocess: its default wait loop polls moto forever (moto never finishes
    a step), so the signal always lands after the cluster exists. The CLI starts with SIGINT
    ignored, as a child of a background job or a scheduler does, and must still stop on it."""
    env = dict(os.environ, DDB_S3_JARS_DIR=str(helper_jar.parent))
    before = all_ids(emr)
    proc = subprocess.Popen([DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/ddb", "--runner", "emr",
                             "--cluster", "transient"], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    seen = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("started cluster j-"):
                break
        else:
            pytest.fail("the CLI never started a cluster:\n" + "".join(seen))
        (cid,) = all_ids(emr) - before
        assert cid in active_ids(emr)
        proc.send_signal(sig)
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, "".join(seen) + rest
    assert f"terminated cluster {cid}" in rest
    assert cid not in active_ids(emr)
    assert emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"] == "TERMINATED"
