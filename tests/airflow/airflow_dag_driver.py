"""Runs one DAG with real Airflow (dag.test()) against the local stack with the local EMR, in its
own process (AIRFLOW_HOME and Airflow's logging stay out of the test session).

    python airflow_dag_driver.py <dag-file> <dag-id>

Prints Airflow's output, then one line
"DRIVER-RESULT {"state", "clusters": {id: state}, "tries", "xcom": {key: value}}"."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import boto3

from launcher.core.wait import poll_until


def main() -> None:
    dag_file, dag_id = sys.argv[1:]
    spec = importlib.util.spec_from_file_location(f"dag_{dag_id}", dag_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    assert dag.dag_id == dag_id
    if os.environ.get("DRIVER_AWS_CONN_ID"):  # no AWS variables here: reach EMR through the connection too
        from launcher.airflow.connection import get_aws

        emr = get_aws(os.environ["DRIVER_AWS_CONN_ID"]).client("emr")
    else:
        emr = boto3.client("emr")
    before = {c["Id"] for c in emr.list_clusters()["Clusters"]}
    run = dag.test()
    # EMR shows TERMINATING while a cluster's nodes go, after the last step or a TerminateJobFlows
    clusters = poll_until(
        lambda: {c["Id"]: c["Status"]["State"] for c in emr.list_clusters()["Clusters"] if c["Id"] not in before},
        lambda found: "TERMINATING" not in found.values(),
        every=0.2,
        timeout=60,
        what="the DAG's clusters to leave TERMINATING",
    )

    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)).all()
        tries = {ti.task_id: ti.try_number for ti in tis}
        rows = session.scalars(select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run.run_id)).all()
        xcom = {f"{r.task_id}.{r.key}": r.value for r in rows}
    result = {"state": str(run.state), "clusters": clusters, "tries": tries, "xcom": xcom}
    print("DRIVER-RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
