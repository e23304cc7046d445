"""Nightly backup of a DynamoDB table to S3 on a transient EMR cluster (ddb-s3's Airflow operator).

Settings can live in ddb-s3.toml (a [profiles.nightly] section, say) and be overridden here; the
task's XCom is {"exportUri", "exportId", "clusterId", "itemCount"}."""
from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from launcher.airflow import DdbS3ExportOperator

with DAG(
    dag_id="ddb_s3_export",
    schedule=os.environ.get("DDB_S3_EXAMPLE_SCHEDULE", "@daily"),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["ddb-s3", "dynamodb", "emr"],
) as dag:
    export = DdbS3ExportOperator(
        task_id="export_lab_results",
        table=os.environ.get("DDB_S3_EXAMPLE_TABLE", "LabResults"),
        # One folder per logical date; the export itself lands under AWSDynamoDB/<export-id>/.
        to=os.environ.get("DDB_S3_EXAMPLE_TO", "s3://lab-backups/ddb") + "/{{ ds }}",
        cluster="transient",
        options={
            "engine": "spark",
            "instance_type": "m5.xlarge",
            "core_nodes": 2,
            "read_percent": 0.5,
            # "log_uri": "s3://lab-logs/emr/",   # needed to see a failed step's stderr
        },
        profile=os.environ.get("DDB_S3_EXAMPLE_PROFILE") or None,
    )
