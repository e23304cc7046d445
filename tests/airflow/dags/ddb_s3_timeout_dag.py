"""A test DAG (not an example): a deferrable export whose wait gives up after 2 seconds, so the
task fails in execute_complete and must terminate the cluster it started."""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from launcher.airflow import DdbS3ExportOperator

with DAG(dag_id="ddb_s3_timeout", schedule=None, start_date=datetime(2025, 1, 1), catchup=False) as dag:
    DdbS3ExportOperator(
        task_id="export",
        table=os.environ.get("DDB_S3_TEST_TABLE", "missing"),
        to=os.environ.get("DDB_S3_TEST_TO", "s3://missing/ddb"),
        options={"reader": "segments", "read_percent": 0.0001},  # 4 units/s: the step runs for a while
        deferrable=True,
        max_wait_seconds=2,
    )
