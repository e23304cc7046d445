"""A test DAG (not an example): export (deferrable) >> verify >> restore, every task with
aws_conn_id, run with no AWS variables in the environment, so only the Airflow connection can
reach the stack. Table, destination and restore target come from the test (DDB_S3_TEST_*)."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from launcher.airflow import DdbS3ExportOperator, DdbS3RestoreOperator, DdbS3VerifyOperator

CONN = "ddb_s3_lab"

with DAG(dag_id="ddb_s3_connection", schedule=None, start_date=datetime(2025, 1, 1), catchup=False) as dag:
    export = DdbS3ExportOperator(
        task_id="export",
        table=os.environ.get("DDB_S3_TEST_TABLE", "missing"),
        to=os.environ.get("DDB_S3_TEST_TO", "s3://missing/ddb") + "/{{ ds }}",
        options={"reader": "segments"},
        aws_conn_id=CONN,
        deferrable=True,
    )
    verify = DdbS3VerifyOperator(
        task_id="verify",
        export_uri="{{ ti.xcom_pull(task_ids='export')['exportUri'] }}",
        aws_conn_id=CONN,
    )
    restore = DdbS3RestoreOperator(
        task_id="restore",
        export_uri="{{ ti.xcom_pull(task_ids='export')['exportUri'] }}",
        table=os.environ.get("DDB_S3_TEST_TABLE", "missing") + "-restored",
        options={"create_table": True},
        aws_conn_id=CONN,
    )
    export >> verify >> restore
