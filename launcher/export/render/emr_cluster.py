"""Pure builders of what the EMR runner sends: the RunJobFlow request, its bootstrap actions and
tags. No AWS calls here (those live in aws/emr_hook.py), so every
request can be rendered, shown in a dry run, and validated against botocore's EMR model offline.
"""

from __future__ import annotations

from typing import Any

from launcher.core.emr import EXPORT_ID_TAG, MANAGED_TAG, TABLE_TAG
from launcher.export.estimate import duration
from launcher.export.plan import ExportPlan
from launcher.export.render.base import Rendered, Target, template_dirs

BOOTSTRAP_CONNECTOR = "bootstrap/install-connector.sh"
BOOTSTRAP_PYTHON = "bootstrap/install-python-deps.sh"
BOOTSTRAP_GUARD = "bootstrap/max-runtime.sh"
CONNECTOR_DIR = "/usr/lib/ddb-s3"  # where install-connector.sh puts the pinned jar


def connector_jar(version: str) -> str:
    return f"{CONNECTOR_DIR}/emr-dynamodb-hadoop-{version}.jar"


def cluster_name(plan: ExportPlan) -> str:
    return f"ddb-s3 export {plan.table.name} {plan.export_id}"[:256]


def tags(plan: ExportPlan) -> list[dict[str, str]]:
    return [
        {"Key": MANAGED_TAG, "Value": "true"},
        {"Key": EXPORT_ID_TAG, "Value": plan.export_id},
        {"Key": TABLE_TAG, "Value": plan.table.name},
    ]


def bootstrap_files(plan: ExportPlan, package_root: Any) -> dict[str, str]:
    """Artifact name -> script text for the bootstrap actions this plan needs."""
    names = [BOOTSTRAP_GUARD] if plan.transient else []
    if plan.cluster.connector_version:
        names.append(BOOTSTRAP_CONNECTOR)
    if plan.cluster.python_packages:
        names.append(BOOTSTRAP_PYTHON)
    return {name: (package_root / name).read_text() for name in names}


def bootstrap_actions(plan: ExportPlan, root: str) -> list[dict[str, Any]]:
    """ScriptBootstrapAction entries for the uploaded scripts under `root` (s3://...)."""
    spec = plan.cluster
    actions = []
    if plan.transient:
        actions.append(
            {
                "Name": f"ddb-s3: the cluster shuts itself down after {duration(spec.max_runtime_seconds)} (--max-hours)",
                "ScriptBootstrapAction": {"Path": f"{root}/{BOOTSTRAP_GUARD}", "Args": [str(spec.max_runtime_seconds)]},
            }
        )
    if spec.connector_version:
        actions.append(
            {
                "Name": f"ddb-s3: install emr-dynamodb-hadoop {spec.connector_version}",
                "ScriptBootstrapAction": {"Path": f"{root}/{BOOTSTRAP_CONNECTOR}", "Args": [spec.connector_version]},
            }
        )
    if spec.python_packages:
        actions.append(
            {
                "Name": "ddb-s3: install Python dependencies",
                "ScriptBootstrapAction": {"Path": f"{root}/{BOOTSTRAP_PYTHON}", "Args": list(spec.python_packages)},
            }
        )
    return actions


def instance_groups(plan: ExportPlan) -> list[dict[str, Any]]:
    r = plan.cluster
    return [
        {"Name": "master", "InstanceRole": "MASTER", "Market": "ON_DEMAND", "InstanceType": r.instance_type, "InstanceCount": 1},
        {
            "Name": "core",
            "InstanceRole": "CORE",
            "Market": "SPOT" if r.spot else "ON_DEMAND",
            "InstanceType": r.instance_type,
            "InstanceCount": r.core_nodes,
        },
    ]


def run_job_flow_request(plan: ExportPlan, root: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The RunJobFlow request of a transient cluster that runs `steps` and then terminates.

    KeepJobFlowAliveWhenNoSteps=false ends the cluster after its last step; the AutoTerminationPolicy
    is a second safety net should a step hang; the runner terminates it as well on every exit path."""
    r = plan.cluster
    instances: dict[str, Any] = {
        "InstanceGroups": instance_groups(plan),
        "KeepJobFlowAliveWhenNoSteps": False,
        "TerminationProtected": False,
    }
    if r.subnet_id:
        instances["Ec2SubnetId"] = r.subnet_id
    req: dict[str, Any] = {
        "Name": cluster_name(plan),
        "ReleaseLabel": r.release_label,
        "Applications": [{"Name": "Spark"}] + ([{"Name": "Hive"}] if plan.engine == "hive" else []),
        "Instances": instances,
        "Steps": steps,
        "BootstrapActions": bootstrap_actions(plan, root),
        "ServiceRole": r.service_role,
        "JobFlowRole": r.instance_profile,
        "Tags": tags(plan),
        "AutoTerminationPolicy": {"IdleTimeout": r.idle_timeout},
        "VisibleToAllUsers": True,
    }
    if r.log_uri:
        req["LogUri"] = r.log_uri
    return req


def add_requests(plan: ExportPlan, out: Rendered, target: Target) -> None:
    """The bootstrap actions' scripts, and RunJobFlow for a transient cluster (its steps included)."""
    out.files.update(bootstrap_files(plan, template_dirs()[0]))
    if plan.transient:
        out.run_job_flow = run_job_flow_request(plan, target.artifacts_root, out.steps)
