"""Runs inside the bench venv (.cache/bench-venv), not the project's: Airflow's DynamoDBToS3Operator
in scan mode, called as a task would call it (operator.execute({})). The AWS connection comes from
AIRFLOW_CONN_AWS_DEFAULT (set by bench to the local endpoints).

usage: python airflow_export.py TABLE BUCKET PREFIX [FILE_SIZE_BYTES]
Prints one JSON line: {"ok": true, "seconds": ...} or {"ok": false, "error": "..."}."""
import json
import sys
import time
import traceback


def main() -> int:
    table, bucket, prefix = sys.argv[1:4]
    file_size = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    t0 = time.monotonic()
    try:
        from airflow.providers.amazon.aws.transfers.dynamodb_to_s3 import DynamoDBToS3Operator

        imported = time.monotonic()
        op = DynamoDBToS3Operator(
            task_id="bench_dynamodb_to_s3", dynamodb_table_name=table, s3_bucket_name=bucket,
            s3_key_prefix=prefix, file_size=file_size,
        )
        op.execute({})
    except Exception as e:  # noqa: BLE001 - the failure is a result (e.g. sets are not JSON serialisable)
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:],
                          "seconds": time.monotonic() - t0}))
        return 0
    done = time.monotonic()
    print(json.dumps({"ok": True, "seconds": done - t0, "import_seconds": imported - t0, "execute_seconds": done - imported}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
