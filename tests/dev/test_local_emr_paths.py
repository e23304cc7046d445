"""The local EMR's failure paths, each as AWS documents it (launcher/dev/local_emr.py):

- a step that fails with ActionOnFailure TERMINATE_CLUSTER: the steps not started CANCELLED, the
  cluster TERMINATING -> TERMINATED_WITH_ERRORS, StateChangeReason STEP_FAILURE;
- CANCEL_AND_WAIT: the pending steps CANCELLED, the cluster WAITING and still usable; CONTINUE: the
  next step runs;
- a bootstrap action that exits non-zero: BOOTSTRAP_FAILURE, the steps CANCELLED;
- AddJobFlowSteps on a cluster shutting down or ended: ValidationException;
- the last step done, or a user's TerminateJobFlows: TERMINATING, then TERMINATED, and a cluster
  terminated before it started never starts;
- Glue UpdateJob replaces the whole job definition.

The steps are shell commands (command-runner.jar runs any command on the primary node) on clusters
without Spark (Applications: Hadoop), so no JVM starts. The local EMR here is one of this module's
own, beside the session's stack (its S3 holds the bootstrap scripts), so that a cluster shutting
itself down stays TERMINATING long enough to be seen (DDB_S3_LOCAL_TERMINATING_SECONDS)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from helpers import unique_name
from launcher.dev.localstack import REPO_ROOT

pytestmark = pytest.mark.integration
TERMINATING_SECONDS = 5  # a poll every 0.1 s sees it
WAIT = 60.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(local_stack, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), DDB_S3_LOCAL_TERMINATING_SECONDS=str(TERMINATING_SECONDS))
    work = tmp_path_factory.mktemp("emr-paths")
    log = open(work / "server.log", "wb")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "launcher.dev.local_emr", "--port", str(port), "--work", str(work / "nodes")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        probe = boto3.client("emr", endpoint_url=url)
        until(lambda: ok(probe.list_clusters) or proc.poll() is not None, "the local EMR to listen")
        assert proc.poll() is None, (work / "server.log").read_text()[-3000:]
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def ok(call: Callable[[], Any]) -> bool:
    try:
        call()
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return True


def until(done: Callable[[], Any], what: str, seconds: float = WAIT) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = done()
        if got:
            return got
        assert time.monotonic() < deadline, f"no {what} within {seconds:.0f}s"
        time.sleep(0.1)


@pytest.fixture
def emr(endpoint) -> Any:
    return boto3.client("emr", endpoint_url=endpoint)


@pytest.fixture
def glue(endpoint) -> Any:
    return boto3.client("glue", endpoint_url=endpoint)


@pytest.fixture(scope="module")
def bucket(local_stack) -> str:
    name = unique_name("emrpaths").lower()
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def step(name: str, command: str, on_failure: str = "CONTINUE") -> dict[str, Any]:
    return {"Name": name, "ActionOnFailure": on_failure, "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["bash", "-c", command]}}


def start(emr: Any, steps: list[dict[str, Any]], keep_alive: bool = True, **extra: Any) -> str:
    return str(
        emr.run_job_flow(
            Name=unique_name("paths"),
            ReleaseLabel="emr-7.9.0",
            Applications=[{"Name": "Hadoop"}],
            Instances={
                "InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}],
                "KeepJobFlowAliveWhenNoSteps": keep_alive,
            },
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
            Steps=steps,
            **extra,
        )["JobFlowId"]
    )


def status(emr: Any, cluster_id: str) -> dict[str, Any]:
    return dict(emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"])


def step_states(emr: Any, cluster_id: str) -> list[str]:
    return [s["Status"]["State"] for s in reversed(emr.list_steps(ClusterId=cluster_id)["Steps"])]  # oldest first


def states_until_ended(emr: Any, cluster_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every distinct cluster state seen, with its StateChangeReason, until the cluster has ended."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def poll() -> bool:
        now = status(emr, cluster_id)
        if not seen or seen[-1][0] != now["State"]:
            seen.append((now["State"], now.get("StateChangeReason", {})))
        return now["State"] in ("TERMINATED", "TERMINATED_WITH_ERRORS")

    until(poll, f"end of {cluster_id}")
    return seen


def test_a_step_failing_with_terminate_cluster_cancels_the_rest_and_shuts_the_cluster_down(emr):
    cluster_id = start(
        emr,
        [
            step("ok", "true", "TERMINATE_CLUSTER"),
            step("fails", "exit 3", "TERMINATE_CLUSTER"),
            step("never", "true"),
            step("never either", "true"),
        ],
    )
    seen = states_until_ended(emr, cluster_id)
    states = [state for state, _ in seen]
    assert states[-2:] == ["TERMINATING", "TERMINATED_WITH_ERRORS"], seen
    for _, reason in seen[-2:]:
        assert reason == {"Code": "STEP_FAILURE", "Message": "Shut down as step failed"}
    assert step_states(emr, cluster_id) == ["COMPLETED", "FAILED", "CANCELLED", "CANCELLED"]


def test_steps_cannot_be_added_to_a_cluster_shutting_down_or_ended(emr):
    cluster_id = start(emr, [step("fails", "exit 1", "TERMINATE_CLUSTER")])
    until(lambda: status(emr, cluster_id)["State"] == "TERMINATING", "TERMINATING")
    for expected in ("TERMINATING", "TERMINATED_WITH_ERRORS"):
        until(lambda s=expected: status(emr, cluster_id)["State"] == s, expected)
        with pytest.raises(ClientError) as e:
            emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step("late", "true")])
        assert e.value.response["Error"]["Code"] == "ValidationException"
        assert e.value.response["Error"]["Message"] == "A job flow that is shutting down, terminated, or finished may not be modified."
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # a user's TerminateJobFlows (the runner's teardown) does not turn the errors into a clean end
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    assert status(emr, cluster_id)["State"] == "TERMINATED_WITH_ERRORS"
    assert len(emr.list_steps(ClusterId=cluster_id)["Steps"]) == 1


def test_steps_cannot_be_added_to_a_terminated_cluster(emr):
    cluster_id = start(emr, [step("ok", "true")], keep_alive=False)
    until(lambda: status(emr, cluster_id)["State"] == "TERMINATED", "TERMINATED")
    with pytest.raises(ClientError) as e:
        emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step("late", "true")])
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_cancel_and_wait_cancels_the_pending_steps_and_the_cluster_waits(emr):
    cluster_id = start(emr, [step("fails", "exit 1", "CANCEL_AND_WAIT"), step("pending", "true"), step("pending too", "true")])
    until(lambda: status(emr, cluster_id)["State"] == "WAITING" and step_states(emr, cluster_id)[0] == "FAILED", "WAITING")
    assert step_states(emr, cluster_id) == ["FAILED", "CANCELLED", "CANCELLED"]
    assert status(emr, cluster_id)["State"] == "WAITING"
    # still a usable cluster: a step added now runs
    (added,) = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step("later", "true")])["StepIds"]
    until(lambda: emr.describe_step(ClusterId=cluster_id, StepId=added)["Step"]["Status"]["State"] == "COMPLETED", "the added step")
    emr.terminate_job_flows(JobFlowIds=[cluster_id])


def test_continue_runs_the_next_step_and_the_last_one_shuts_the_cluster_down(emr):
    cluster_id = start(emr, [step("fails", "exit 1", "CONTINUE"), step("next", "true")], keep_alive=False)
    seen = states_until_ended(emr, cluster_id)
    # EMR API Reference, ClusterState: a cluster that ends goes through TERMINATING (it skipped it before)
    assert seen[-2:] == [
        (state, {"Code": "ALL_STEPS_COMPLETED", "Message": "Steps completed"}) for state in ("TERMINATING", "TERMINATED")
    ], seen
    assert step_states(emr, cluster_id) == ["FAILED", "COMPLETED"]


def test_terminate_job_flows_goes_through_terminating_and_interrupts_the_running_step(emr):
    cluster_id = start(emr, [step("long", "sleep 600")])
    until(lambda: step_states(emr, cluster_id) == ["RUNNING"], "the step running")
    emr.terminate_job_flows(JobFlowIds=[cluster_id])
    seen = states_until_ended(emr, cluster_id)
    assert seen == [
        (state, {"Code": "USER_REQUEST", "Message": "Terminated by user request"}) for state in ("TERMINATING", "TERMINATED")
    ], seen
    assert step_states(emr, cluster_id) == ["INTERRUPTED"]


def test_a_cluster_terminated_before_it_started_never_starts(emr, bucket):
    boto3.client("s3").put_object(Bucket=bucket, Key="bootstrap/slow.sh", Body=b"sleep 600\n")
    cluster_id = start(
        emr,
        [step("never", "true")],
        BootstrapActions=[{"Name": "slow", "ScriptBootstrapAction": {"Path": f"s3://{bucket}/bootstrap/slow.sh"}}],
    )
    emr.terminate_job_flows(JobFlowIds=[cluster_id])  # at once: STARTING, maybe not yet seen by the executor
    seen = states_until_ended(emr, cluster_id)
    assert [state for state, _ in seen] == ["TERMINATING", "TERMINATED"], seen
    time.sleep(1)  # the executor's poll (0.1 s) has passed: a late start would show now
    assert status(emr, cluster_id)["State"] == "TERMINATED" and step_states(emr, cluster_id) == ["CANCELLED"]


def test_a_failed_bootstrap_action_ends_the_cluster_with_bootstrap_failure_and_cancels_its_steps(emr, bucket):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=bucket, Key="bootstrap/fail.sh", Body=b"echo trying >&2\nexit 7\n")
    cluster_id = start(
        emr,
        [step("export", "true", "TERMINATE_CLUSTER"), step("more", "true")],
        BootstrapActions=[{"Name": "fails", "ScriptBootstrapAction": {"Path": f"s3://{bucket}/bootstrap/fail.sh"}}],
        LogUri=f"s3://{bucket}/logs/",
    )
    seen = states_until_ended(emr, cluster_id)
    assert [state for state, _ in seen][-2:] == ["TERMINATING", "TERMINATED_WITH_ERRORS"], seen
    master = next(i["Ec2InstanceId"] for i in emr.list_instances(ClusterId=cluster_id, InstanceGroupTypes=["MASTER"])["Instances"])
    assert seen[-1][1] == {
        "Code": "BOOTSTRAP_FAILURE",
        "Message": f"On the master instance ({master}), bootstrap action 1 returned a non-zero return code",
    }
    assert step_states(emr, cluster_id) == ["CANCELLED", "CANCELLED"]
    # they never started: no StartDateTime (what the runner reads to wait for no log of theirs)
    assert not any("StartDateTime" in s["Status"]["Timeline"] for s in emr.list_steps(ClusterId=cluster_id)["Steps"])
    # what the script said is with the node's logs, as EMR archives them
    key = f"logs/{cluster_id}/node/{master}/bootstrap-actions/1/stderr.gz"
    assert gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == b"trying\n"


def test_a_bootstrap_script_that_cannot_be_downloaded_is_a_bootstrap_failure(emr, bucket):
    cluster_id = start(
        emr,
        [step("export", "true")],
        BootstrapActions=[{"Name": "missing", "ScriptBootstrapAction": {"Path": f"s3://{bucket}/bootstrap/none.sh"}}],
    )
    seen = states_until_ended(emr, cluster_id)
    assert seen[-1][0] == "TERMINATED_WITH_ERRORS" and seen[-1][1]["Code"] == "BOOTSTRAP_FAILURE"
    assert seen[-1][1]["Message"].endswith("failed attempting to download bootstrap action 1 file from S3")
    assert step_states(emr, cluster_id) == ["CANCELLED"]


def test_glue_update_job_replaces_the_whole_definition(glue):
    name = unique_name("paths")
    glue.create_job(
        Name=name,
        Role="team-role",
        Command={"Name": "glueetl", "ScriptLocation": "s3://b/old.py"},
        Description="theirs",
        DefaultArguments={"--TempDir": "s3://b/tmp/"},
        MaxRetries=3,
        Timeout=60,
        NumberOfWorkers=4,
        WorkerType="G.1X",
        GlueVersion="4.0",
        Tags={"team": "lab"},
    )
    glue.update_job(JobName=name, JobUpdate={"Role": "our-role", "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/new.py"}})
    job = glue.get_job(JobName=name)["Job"]
    assert job["Role"] == "our-role" and job["Command"]["ScriptLocation"] == "s3://b/new.py"
    # what the JobUpdate left out is reset as CreateJob would have it, not kept
    for key in ("Description", "MaxRetries", "Timeout", "NumberOfWorkers", "WorkerType", "GlueVersion"):
        assert key not in job, (key, job)
    assert job.get("DefaultArguments", {}) == {}
    # what an UpdateJob cannot carry stays
    assert glue.get_tags(ResourceArn=f"arn:aws:glue:us-east-1:123456789012:job/{name}")["Tags"] == {"team": "lab"}
    glue.delete_job(JobName=name)


def test_a_cluster_that_names_no_application_gets_spark_one_that_names_others_does_not():
    """moto lists one nameless application for a RunJobFlow without Applications (the CI saw
    'spark-submit: command not found' on such a cluster)."""
    from types import SimpleNamespace

    from launcher.dev.local_emr import has_spark

    def cluster(*names):
        return SimpleNamespace(applications=[SimpleNamespace(name=n) for n in names])

    assert has_spark(cluster(None)) and has_spark(cluster()) and has_spark(cluster("Hadoop", "Spark"))
    assert not has_spark(cluster("Hadoop", "Hive"))


@pytest.mark.unit
def test_executor_logs_are_named_as_yarn_names_its_containers():
    """Hadoop's ApplicationId (application_<cluster start ms>_<4 digits>) and ContainerId
    (container_<cluster start ms>_<app>_<attempt>_<6 digits>) formats, for Spark standalone's
    app-<time>-<n> and executor k; container 1 is the application master."""
    from launcher.dev.local_emr import emr_container_log, yarn_ids

    assert yarn_ids(1733500000123, "app-20261207112233-0000", "0") == (
        "application_1733500000123_0001",
        "container_1733500000123_0001_01_000002",
    )
    assert yarn_ids(1733500000123, "app-20261207112233-0011", "3")[1] == "container_1733500000123_0012_01_000005"
    assert emr_container_log("s3://b/logs/", "j-1", "application_1_0001", "container_1_0001_01_000002", "stderr") == (
        "s3://b/logs/j-1/containers/application_1_0001/container_1_0001_01_000002/stderr.gz"
    )


def test_a_hive_step_on_a_cluster_without_hive_is_command_not_found(emr):
    """hive-script exists on a node only where the cluster installs Hive (RunJobFlow's Applications),
    and Hive's YARN starts only there (launcher/dev/yarn_cluster.py)."""
    hive = {
        "Name": "hive",
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["hive-script", "--run-hive-script", "--args", "-f", "s3://b/x.hql"]},
    }
    cluster_id = start(emr, [hive], keep_alive=False)
    states_until_ended(emr, cluster_id)
    (failed,) = emr.list_steps(ClusterId=cluster_id)["Steps"]
    assert failed["Status"]["State"] == "FAILED", failed
    assert "hive-script: command not found" in failed["Status"]["FailureDetails"]["Message"], failed


@pytest.mark.unit
def test_each_yarn_node_is_configured_for_its_own_folders_and_passes_only_aws_names_on(tmp_path, monkeypatch):
    """A node's etc/hadoop: the cluster's ResourceManager addresses, the node's own local and log
    dirs, MapReduce on YARN with the shuffle port in mapred-site.xml (mapred-default.xml's 13562
    overrides yarn-site.xml), the cluster's marker on every container JVM, and the node's AWS_*
    variables passed to containers by name: no value of theirs is written."""
    import xml.etree.ElementTree as ET

    from launcher.dev.yarn_cluster import YARN_JARS_DIR_ENV, YarnCluster
    from launcher.export.run.jars import JvmSetupError

    jars = tmp_path / "yarn-jars"
    jars.mkdir()
    monkeypatch.setenv(YARN_JARS_DIR_ENV, str(jars))
    with pytest.raises(JvmSetupError, match="make yarn-jars"):
        YarnCluster("j-EMPTY")
    (jars / "hadoop-yarn-server-nodemanager-3.3.4.jar").write_bytes(b"")
    yarn = YarnCluster("j-TEST")
    env = {"AWS_ACCESS_KEY_ID": "AKIDLOCALNODE", "AWS_SECRET_ACCESS_KEY": "node-secret-value", "HOME": "/h"}
    confs = {n: yarn.configure(tmp_path / n, env) for n in ("core-1", "core-2")}

    def props(path):
        return {p.findtext("name"): p.findtext("value") for p in ET.parse(path).getroot()}

    sites = {n: props(c / "yarn-site.xml") for n, c in confs.items()}
    assert sites["core-1"]["yarn.resourcemanager.address"] == sites["core-2"]["yarn.resourcemanager.address"]
    assert sites["core-1"]["yarn.nodemanager.local-dirs"].startswith(str(tmp_path / "core-1"))
    assert sites["core-2"]["yarn.nodemanager.log-dirs"].startswith(str(tmp_path / "core-2"))
    whitelist = sites["core-1"]["yarn.nodemanager.env-whitelist"].split(",")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "JAVA_HOME"} <= set(whitelist) and "HOME" not in whitelist
    mapred = props(confs["core-1"] / "mapred-site.xml")
    assert mapred["mapreduce.framework.name"] == "yarn" and mapred["mapreduce.shuffle.port"] == "0"
    assert "-Dddb_s3.local_cluster=j-TEST" in mapred["mapreduce.map.java.opts"]
    written = "".join(p.read_text() for c in confs.values() for p in c.iterdir())
    assert "node-secret-value" not in written and "AKIDLOCALNODE" not in written


def test_a_resource_manager_whose_port_was_taken_starts_again_on_new_ports(tmp_path, monkeypatch):
    """The ResourceManager's ports are picked free and told to the nodes, so another process may bind
    one first (four pytest workers start clusters side by side): YARN's BindException, then a new start."""
    import socket

    import launcher.dev.yarn_cluster as yarn_cluster

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picks = [[taken.getsockname()[1]] * 5]
    real = yarn_cluster.free_ports
    monkeypatch.setattr(yarn_cluster, "free_ports", lambda n: picks.pop() if picks else real(n))
    yarn = yarn_cluster.YarnCluster("j-PORTTAKEN")
    try:
        yarn.start_resource_manager(tmp_path / "primary", dict(os.environ))
        yarn.wait_resource_manager(120)
        assert str(taken.getsockname()[1]) not in yarn.addresses["yarn.resourcemanager.address"]
        assert yarn.resource_manager is not None and yarn.resource_manager.proc.poll() is None
    finally:
        yarn.stop()
        taken.close()
