"""The Hive engine's render: a pure function of the plan (no AWS calls, no clock).

Two EMR steps:
1. `hive-script --run-hive-script --args -f <artifacts>/export.hql`: an EXTERNAL table STORED BY
   DynamoDBStorageHandler over the DynamoDB table, and INSERT OVERWRITE DIRECTORY into a staging
   prefix under the export root (<export root>_hive_staging/), text rows with escaping on.
2. `spark-submit <artifacts>/hive_convert.py`: reads the staged rows (launcher.job.hive_rows),
   writes the export layout's gzip DynamoDB JSON data files (launcher.job.s3io), commits the
   manifests last (launcher.job.commit) and deletes the staging objects.

Names reach HiveQL only through launcher.quoting: the DynamoDB table and attribute names as
string literals (hive_string), Hive names as quoted identifiers (hive_identifier). Hive columns
are named c0, c1, ... (attribute names go into dynamodb.column.mapping and the column comment),
because Hive column names cannot hold every attribute name (dots, colons, case).
"""

from __future__ import annotations

import re

from launcher.core.quoting import hive_identifier, hive_string, python_json
from launcher.export.plan import ExportPlan
from launcher.export.render.base import JOB_ZIP, Rendered, Target, command_step, environment, job_zip, plan_json, spark_submit

HQL_SCRIPT = "export.hql"
CONVERT_SCRIPT = "hive_convert.py"
STAGING_DIR = "_hive_staging/"
DONE_MARKER_DIR = "_ddb_s3_hive_done/"  # under the staging prefix: written by the HQL's last INSERT (hidden: "_")
STORAGE_HANDLER = "org.apache.hadoop.hive.dynamodb.DynamoDBStorageHandler"
# The SQL templates, one per statement group, in the order export.hql runs them.
HQL_TEMPLATES = ["hive/settings.hql.j2", "hive/create_source_table.hql.j2", "hive/export_to_staging.hql.j2"]


def hive_table_name(plan: ExportPlan) -> str:
    """The Hive table over the DynamoDB table: [a-z0-9_] only (the metastore's rule), unique per run."""
    base = re.sub(r"[^a-z0-9_]", "_", plan.table.name.lower())[:64]
    return f"ddb_s3_{base}_{plan.export_id.replace('-', '_')}"


def staging_uri(plan: ExportPlan) -> str:
    return f"s3://{plan.bucket}/{plan.export_root}{STAGING_DIR}"


def tblproperties(plan: ExportPlan) -> list[tuple[str, str]]:
    columns = plan.hive_columns
    props = [("dynamodb.table.name", plan.table.name)]
    if columns:
        props.append(("dynamodb.column.mapping", ",".join(f"{c.column}:{c.attribute}" for c in columns)))
        alternates = [f"{c.column}:{c.ddb_type}" for c in columns if c.ddb_type in ("SS", "NS", "BS")]
        if alternates:
            props.append(("dynamodb.type.mapping", ",".join(alternates)))
    props.append(("dynamodb.null.serialization", "false"))  # a missing attribute stays missing
    # The plan's budget itself at percent 1.0, as the Spark reader has it. Without
    # dynamodb.throughput.read the storage handler (emr-ddb 5.x) takes 40000 units for an on-demand
    # table, so --on-demand-read-units would never reach Hive, and autoscaling reads the provisioned
    # table's capacity anew. (The local Hive's 4.5.0 always reads ProvisionedThroughput instead.)
    props.append(("dynamodb.throughput.read", str(int(plan.read_units_per_second))))
    props.append(("dynamodb.throughput.read.percent", "1.0"))
    props.append(("dynamodb.region", plan.region))
    if ddb_endpoint := plan.endpoints.get("dynamodb"):
        props.append(("dynamodb.endpoint", ddb_endpoint))
    return props


def render_hql(plan: ExportPlan) -> str:
    env = environment()
    env.filters["hive_identifier"] = hive_identifier
    env.filters["hive_string"] = hive_string
    context = {
        "export_id": plan.export_id,
        "table": hive_table_name(plan),
        "storage_handler": STORAGE_HANDLER,
        "columns": plan.hive_columns,
        "tblproperties": tblproperties(plan),
        "staging": staging_uri(plan),
        "done_marker": staging_uri(plan) + DONE_MARKER_DIR,
        "segments": plan.segments,
    }
    return "".join(env.get_template(name).render(**context) for name in HQL_TEMPLATES)


def render_hive(plan: ExportPlan, target: Target, out: Rendered) -> None:
    out.files[HQL_SCRIPT] = render_hql(plan)
    doc = plan_json(plan)
    doc["hive"] = {"staging_prefix": plan.export_root + STAGING_DIR, "done_marker_dir": DONE_MARKER_DIR}
    out.files[CONVERT_SCRIPT] = (
        environment()
        .get_template("hive/convert_job.py.j2")
        .render(
            export_id=plan.export_id,
            export_uri=plan.export_uri,
            plan_json=python_json(doc),
        )
    )
    out.files[JOB_ZIP] = job_zip()
    out.steps.append(
        command_step(
            plan,
            f"ddb-s3 export {plan.table.name} with Hive ({plan.export_id})",
            ["hive-script", "--run-hive-script", "--args", "-f", target.path(HQL_SCRIPT)],
        )
    )
    out.steps.append(
        command_step(
            plan,
            f"ddb-s3 convert Hive output to the export layout ({plan.export_id})",
            spark_submit(target, f"ddb-s3-hive-convert-{plan.export_id}", CONVERT_SCRIPT),
        )
    )
