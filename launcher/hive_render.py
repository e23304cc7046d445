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

from .errors import BadInput
from .plan import ExportPlan
from .quoting import hive_identifier, hive_string, python_json
from .render import JOB_MODULES, Rendered, Target, environment, job_zip, plan_json

HQL_SCRIPT = "export.hql"
CONVERT_SCRIPT = "hive_convert.py"
CONVERT_ZIP = "ddbs3_hive_job.zip"
STAGING_DIR = "_hive_staging/"
CONVERT_MODULES = JOB_MODULES + ["job/hive_rows.py"]
STORAGE_HANDLER = "org.apache.hadoop.hive.dynamodb.DynamoDBStorageHandler"
# The SQL templates, one per statement group, in the order export.hql runs them.
HQL_TEMPLATES = ["hive/settings.hql.j2", "hive/create_source_table.hql.j2", "hive/export_to_staging.hql.j2"]

# Hive type -> DynamoDB type of the typed-column form (what dynamodb.type.mapping states).
HIVE_TYPES = {
    "string": "S",
    "bigint": "N",
    "double": "N",
    "boolean": "BOOL",
    "binary": "B",
    "array<string>": "SS",
    "array<bigint>": "NS",
    "array<double>": "NS",
    "array<binary>": "BS",
}
_KEY_TYPES = {"S": {"string"}, "N": {"bigint", "double"}, "B": {"binary"}}


def parse_hive_columns(spec: str) -> list[dict[str, str]]:
    """'attr:type,attr:type' -> [{"attribute", "hive_type", "ddb_type", "column"}]. The connector's
    dynamodb.column.mapping is 'col:attr,col:attr', so attribute names with ',' or ':' cannot be
    mapped (the whole-item form exports them)."""
    columns: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, part in enumerate(spec.split(",")):
        if ":" not in part:
            raise BadInput(f"--hive-columns: {part!r} is not attribute:type")
        attribute, hive_type = part.rsplit(":", 1)
        hive_type = re.sub(r"\s+", "", hive_type).lower()
        if not attribute:
            raise BadInput(f"--hive-columns: empty attribute name in {part!r}")
        if ":" in attribute:
            raise BadInput(f"--hive-columns: attribute {attribute!r} holds ':' which dynamodb.column.mapping cannot "
                           "express; use the whole-item form (no --hive-columns)")
        if hive_type not in HIVE_TYPES:
            raise BadInput(f"--hive-columns: type {hive_type!r} of {attribute!r} is not one of {', '.join(HIVE_TYPES)}")
        if attribute in seen:
            raise BadInput(f"--hive-columns: attribute {attribute!r} is listed twice")
        seen.add(attribute)
        columns.append({"attribute": attribute, "hive_type": hive_type, "ddb_type": HIVE_TYPES[hive_type],
                        "column": f"c{n}"})
    return columns


def hive_table_name(plan: ExportPlan) -> str:
    """The Hive table over the DynamoDB table: [a-z0-9_] only (the metastore's rule), unique per run."""
    base = re.sub(r"[^a-z0-9_]", "_", plan.table["name"].lower())[:64]
    return f"ddb_s3_{base}_{plan.export_id.replace('-', '_')}"


def staging_uri(plan: ExportPlan) -> str:
    return f"s3://{plan.bucket}/{plan.export_root}{STAGING_DIR}"


def table_columns(plan: ExportPlan) -> list[dict[str, str]]:
    """The typed columns, checked against the key schema (the storage handler refuses a key column
    whose type does not match, and every item has its keys, so the keys must be listed)."""
    if plan.request.hive_columns is None:
        return []
    columns = parse_hive_columns(plan.request.hive_columns)
    by_attr = {c["attribute"]: c for c in columns}
    key_types = {d["AttributeName"]: d["AttributeType"] for d in plan.table["attribute_definitions"]}
    for key in plan.table["key_names"]:
        col = by_attr.get(key)
        if col is None:
            raise BadInput(f"--hive-columns must list the key attribute {key!r}")
        if col["hive_type"] not in _KEY_TYPES[key_types[key]]:
            raise BadInput(f"--hive-columns: key {key!r} is {key_types[key]} in DynamoDB; "
                           f"use {' or '.join(sorted(_KEY_TYPES[key_types[key]]))}, not {col['hive_type']}")
    return columns


def tblproperties(plan: ExportPlan, columns: list[dict[str, str]]) -> list[tuple[str, str]]:
    props = [("dynamodb.table.name", plan.table["name"])]
    if columns:
        props.append(("dynamodb.column.mapping", ",".join(f"{c['column']}:{c['attribute']}" for c in columns)))
        alternates = [f"{c['column']}:{c['ddb_type']}" for c in columns if c["ddb_type"] in ("SS", "NS", "BS")]
        if alternates:
            props.append(("dynamodb.type.mapping", ",".join(alternates)))
    props.append(("dynamodb.null.serialization", "false"))  # a missing attribute stays missing
    props.append(("dynamodb.throughput.read.percent", str(plan.request.read_percent)))
    props.append(("dynamodb.region", plan.region))
    if plan.endpoints.get("dynamodb"):
        props.append(("dynamodb.endpoint", plan.endpoints["dynamodb"]))
    return props


def render_hql(plan: ExportPlan) -> str:
    env = environment()
    env.filters["hive_identifier"] = hive_identifier
    env.filters["hive_string"] = hive_string
    columns = table_columns(plan)
    context = {
        "export_id": plan.export_id,
        "table": hive_table_name(plan),
        "storage_handler": STORAGE_HANDLER,
        "columns": columns,
        "tblproperties": tblproperties(plan, columns),
        "staging": staging_uri(plan),
        "segments": plan.segments,
    }
    return "".join(env.get_template(name).render(**context) for name in HQL_TEMPLATES)


def render_hive(plan: ExportPlan, target: Target, out: Rendered) -> None:
    out.files[HQL_SCRIPT] = render_hql(plan)
    doc = plan_json(plan)
    doc["hive"] = {"staging_prefix": plan.export_root + STAGING_DIR, "columns": table_columns(plan)}
    out.files[CONVERT_SCRIPT] = environment().get_template("hive/convert_job.py.j2").render(
        export_id=plan.export_id, export_uri=plan.export_uri, plan_json=python_json(doc),
    )
    out.files[CONVERT_ZIP] = job_zip(CONVERT_MODULES)
    transient = plan.request.runner == "emr" and plan.request.cluster == "transient"
    on_failure = "TERMINATE_CLUSTER" if transient else "CONTINUE"
    out.steps.append({
        "Name": f"ddb-s3 export {plan.table['name']} with Hive ({plan.export_id})",
        "ActionOnFailure": on_failure,
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
            "hive-script", "--run-hive-script", "--args", "-f", target.path(HQL_SCRIPT),
        ]},
    })
    out.steps.append({
        "Name": f"ddb-s3 convert Hive output to the export layout ({plan.export_id})",
        "ActionOnFailure": on_failure,
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": [
            "spark-submit",
            "--deploy-mode", target.deploy_mode,
            "--name", f"ddb-s3-hive-convert-{plan.export_id}",
            "--conf", "spark.speculation=false",
            "--py-files", target.path(CONVERT_ZIP),
            target.path(CONVERT_SCRIPT),
        ]},
    })
