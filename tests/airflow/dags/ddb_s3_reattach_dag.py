"""A test DAG (not an example): DdbS3ExportOperator whose first try loses its worker right after
RunJobFlow and the XCom push, before it defers; the retry must reattach to that cluster.

The table, destination and marker file come from the test (DDB_S3_TEST_*)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from launcher.airflow import DdbS3ExportOperator


class WorkerLostAfterSubmit(DdbS3ExportOperator):
    def defer(self, **kwargs: Any) -> None:  # type: ignore[override]
        marker = Path(os.environ["DDB_S3_TEST_MARKER"])
        if not marker.exists():
            marker.write_text("first try lost after RunJobFlow\n")
            raise RuntimeError("worker lost after RunJobFlow (simulated)")
        super().defer(**kwargs)


with DAG(
    dag_id="ddb_s3_reattach",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
) as dag:
    WorkerLostAfterSubmit(
        task_id="export",
        table=os.environ.get("DDB_S3_TEST_TABLE", "missing"),
        to=os.environ.get("DDB_S3_TEST_TO", "s3://missing/ddb"),
        options={"reader": "segments"},
        deferrable=True,
    )
