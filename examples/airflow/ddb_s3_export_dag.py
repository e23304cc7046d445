"""Nightly backup of a DynamoDB table to S3 on a transient EMR cluster (ddb-s3's Airflow operator).

Settings can live in ddb-s3.toml (a [profiles.nightly] section, say: config_profile="nightly") and be overridden here; the
task's XCom is {"exportUri", "exportId", "clusterId", "itemCount"}. The task waits for the cluster
in the triggerer when Airflow's `[operators] default_deferrable` is on (or pass deferrable=True)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from launcher.airflow import DdbS3ExportOperator

with DAG(
    dag_id="ddb_s3_export",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["ddb-s3", "dynamodb", "emr"],
) as dag:
    export = DdbS3ExportOperator(
        task_id="export_lab_results",
        table="LabResults",
        # One folder per logical date; the export itself lands under AWSDynamoDB/<export-id>/.
        to="s3://lab-backups/ddb/{{ ds }}",
        cluster="transient",
        options={
            "engine": "spark",
            "instance_type": "m5.xlarge",
            "core_nodes": 2,
            "read_percent": 0.5,
            # "log_uri": "s3://lab-logs/emr/",   # needed to see a failed step's stderr
        },
        # aws_conn_id="aws_default",   # an Airflow connection; default: the worker's AWS credentials
    )
