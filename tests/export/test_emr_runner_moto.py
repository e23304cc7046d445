"""EmrRunner's submit and teardown against moto's EMR API (a real server on the local stack): the
RunJobFlow request as rendered, the uploads, a transient cluster terminated on every way out, a
user's cluster never. Nothing is injected: moto never finishes a step, so these tests stop at what
submit does and what leaving the runner does; a step that completes or fails runs on the local EMR
(tests/e2e/test_local_emr.py), and the recorded INTERRUPTED and CANCELLED steps in
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
from launcher.core.errors import BadInput
from launcher.export.flow import plan_export
from launcher.export.render import render_export
from launcher.export.render.base import Target
from launcher.export.run.emr import EmrRunner
from launcher.options import build_request

pytestmark = pytest.mark.integration
DDB_S3 = str(Path(sys.executable).parent / "ddb-s3")


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


def test_transient_submit_starts_the_rendered_cluster_and_leaving_terminates_it(table, bucket, emr, s3, helper_jar):
    p = plan(table, bucket, log_uri=f"s3://{bucket}/logs/", python_packages="boto3==1.44.5")
    hook, sent = recording_hook()
    before = all_ids(emr)
    lines: list[str] = []
    with EmrRunner(lines.append, hook=hook, helper_jar=helper_jar) as runner:
        handle = runner.submit(p)
        status = runner.poll(p, handle)
        assert not status.done and status.line.startswith(f"cluster {handle.resource} ")

    assert all_ids(emr) - before == {handle.resource} and len(sent) == 1 and handle.created
    expected = render_export(p, Target.emr(p.artifacts_uri)).run_job_flow
    assert sent[0] == expected
    cluster = emr.describe_cluster(ClusterId=handle.resource)["Cluster"]
    assert cluster["Status"]["State"] == "TERMINATED"
    assert tag_dict(cluster)[EXPORT_ID_TAG] == p.export_id
    steps = emr.list_steps(ClusterId=handle.resource)["Steps"]
    assert [s["Name"] for s in steps] == [s["Name"] for s in expected["Steps"]]
    assert list(handle.runs) == [s["Id"] for s in reversed(steps)]
    root = p.artifacts_uri.removeprefix(f"s3://{bucket}/")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=root)["Contents"]}
    assert {
        f"{root}/export_job.py",
        f"{root}/ddbs3_job.zip",
        f"{root}/ddb-s3-spark-helpers.jar",
        f"{root}/bootstrap/install-python-deps.sh",
    } <= keys
    assert lines[-1] == f"terminated cluster {handle.resource} (the export finished)"


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), RuntimeError("boom")])
def test_transient_run_interrupted_once_submitted_terminates(table, bucket, emr, helper_jar, interrupt):
    p = plan(table, bucket)
    before = all_ids(emr)
    lines: list[str] = []
    runner = EmrRunner(lines.append, helper_jar=helper_jar, install_signal_handlers=False)

    def interrupted(handle):
        raise interrupt

    runner.submitted = interrupted  # told right after RunJobFlow, inside run()
    with pytest.raises(type(interrupt)):
        runner.run(p)
    (cid,) = all_ids(emr) - before
    assert emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"] == "TERMINATED"
    why = "interrupted (Ctrl-C)" if isinstance(interrupt, KeyboardInterrupt) else "the export failed"
    assert lines[-1] == f"terminated cluster {cid} ({why})"


@pytest.fixture
def user_cluster(emr):
    """A long-running cluster the user started (no ddb-s3 tags)."""
    cid = emr.run_job_flow(
        Name="user-cluster",
        ReleaseLabel="emr-7.9.0",
        ServiceRole="EMR_DefaultRole",
        JobFlowRole="EMR_EC2_DefaultRole",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "SlaveInstanceType": "m5.xlarge",
            "InstanceCount": 3,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
    )["JobFlowId"]
    yield cid
    emr.terminate_job_flows(JobFlowIds=[cid])


def test_existing_cluster_gets_steps_and_is_never_terminated(table, bucket, emr, user_cluster, helper_jar):
    p = plan(table, bucket, cluster=user_cluster)
    hook, sent = recording_hook()
    before = all_ids(emr)
    with EmrRunner(lambda m: None, hook=hook, helper_jar=helper_jar) as runner:
        handle = runner.submit(p)
        runner.adopt(p, handle)  # as Airflow's resumed task does: still never ours to end
    assert handle.resource == user_cluster and not handle.created
    assert all_ids(emr) == before and sent == []
    assert emr.describe_cluster(ClusterId=user_cluster)["Cluster"]["Status"]["State"] in ("RUNNING", "WAITING")
    steps = emr.list_steps(ClusterId=user_cluster)["Steps"]
    assert len(steps) == 1 and steps[0]["Config"]["Args"][0] == "spark-submit"
    assert steps[0]["ActionOnFailure"] == "CONTINUE"


def test_existing_cluster_must_exist_and_accept_steps(table, bucket, emr, user_cluster, helper_jar):
    runner = EmrRunner(lambda m: None, helper_jar=helper_jar)
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
    proc = subprocess.Popen(
        [DDB_S3, "export", "--table", table, "--to", f"s3://{bucket}/ddb", "--runner", "emr", "--cluster", "transient"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
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
