"""The local EMR's multi-node pieces that need no server: the spark-submit a step becomes on the
cluster's standalone Master, and how many core nodes a request gets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from launcher.dev import local_emr
from launcher.dev.spark_cluster import StandaloneCluster

pytestmark = pytest.mark.unit
CONNECTOR = "/usr/share/aws/emr/ddb/lib/emr-ddb-hadoop.jar"


def step_command(monkeypatch, tmp_path: Path, args: list[str]) -> list[str]:
    def defaults(label: str, node: Path) -> dict[str, str]:
        assert label == "emr-7.9.0"
        return {"spark.driver.extraClassPath": f"{node}/usr/lib/x/*", "spark.executor.extraClassPath": f"{node}/usr/lib/x/*"}

    monkeypatch.setattr(local_emr, "emr_spark_defaults", defaults)
    executor = local_emr.Executor(tmp_path, {"AWS_DEFAULT_REGION": "us-east-1"})
    spark = StandaloneCluster("/spark", "j-1", tmp_path)
    spark.url = "spark://127.0.0.1:7077"
    executor.spark["j-1"] = spark
    cluster = SimpleNamespace(id="j-1", release_label="emr-7.9.0")
    return executor.emr_spark_submit(cluster, args, tmp_path / "primary", tmp_path / "step")


def confs(cmd: list[str]) -> dict[str, str]:
    pairs = [cmd[i + 1].split("=", 1) for i, a in enumerate(cmd) if a == "--conf"]
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key] = value  # later wins, as in spark-submit
    return out


def test_a_step_runs_its_driver_in_client_mode_against_the_clusters_master(monkeypatch, tmp_path):
    cmd = step_command(
        monkeypatch,
        tmp_path,
        ["--deploy-mode", "cluster", "--conf", "spark.task.maxFailures=8", "--jars", f"{CONNECTOR},/opt/x.jar", "app.py", "--flag"],
    )
    assert cmd[cmd.index("--master") + 1] == "spark://127.0.0.1:7077"
    assert cmd.count("--deploy-mode") == 1 and cmd[cmd.index("--deploy-mode") + 1] == "client"
    # the connector at EMR's path is the primary node's copy, which spark-submit ships
    assert cmd[cmd.index("--jars") + 1] == f"{tmp_path / 'primary'}{CONNECTOR},/opt/x.jar"
    assert cmd[-2:] == ["app.py", "--flag"]
    got = confs(cmd)
    assert got["spark.task.maxFailures"] == "8"  # the step's own --conf wins over EMR's default (4)
    # the release's spark-defaults: the driver's paths on the primary node, an executor's on its own node
    assert got["spark.driver.extraClassPath"] == f"{tmp_path / 'primary'}/usr/lib/x/*"
    # ... and, as YARN gives its containers the node's hadoop classpath, the node's connector
    assert got["spark.executor.extraClassPath"] == f"../../../../usr/lib/x/*:../../../..{CONNECTOR}"
    assert "-Dddb_s3.local_cluster=j-1" in got["spark.executor.defaultJavaOptions"]


def test_executors_fit_the_workers_whatever_the_step_asks(monkeypatch, tmp_path):
    """A Worker here has one core and little memory: an application asking for more would wait forever."""
    cmd = step_command(monkeypatch, tmp_path, ["--conf", "spark.executor.memory=14g", "--executor-cores", "4", "app.py"])
    got = confs(cmd)
    assert got["spark.executor.memory"] == "512m" and got["spark.executor.cores"] == "1"
    assert "--executor-cores" not in cmd  # a flag would win over any --conf


def test_emr_task_retries_by_default(monkeypatch, tmp_path):
    assert confs(step_command(monkeypatch, tmp_path, ["app.py"]))["spark.task.maxFailures"] == "4"


@pytest.mark.parametrize(
    "groups, cores",
    [([("MASTER", 1)], 0), ([("MASTER", 1), ("CORE", 1)], 1), ([("MASTER", 1), ("CORE", 2)], 2), ([("MASTER", 1), ("CORE", 5)], 2)],
)
def test_core_nodes_follow_the_request_up_to_two(groups, cores):
    cluster = SimpleNamespace(instance_groups=[SimpleNamespace(role=r, num_instances=n) for r, n in groups])
    assert local_emr.core_nodes(cluster) == cores
