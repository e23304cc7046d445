"""`ddb-s3 doctor --runner emr|emr-serverless|glue`: a read-only preflight of the account, run once
before the first real export. It takes the export's own options (the same table, destination, roles,
subnet and cluster), prints one line per finding, and exits 1 when something is missing.
The calls are in launcher/aws/preflight.py; `ddb-s3 iam-policy --for doctor` grants exactly them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from launcher.cli.base import build, cli, options, out
from launcher.core.errors import BadInput, DdbS3Error
from launcher.export.estimate import vcpus
from launcher.options import ExportRequest

if TYPE_CHECKING:  # the preflight (boto3) is imported when doctor runs, not for `--help`
    from launcher.aws.preflight import Finding, Target

DOCTOR_RUNNERS = ("emr", "emr-serverless", "glue")


class SomethingMissing(DdbS3Error):
    """doctor found what a run would fail on (exit 1, like any failure the user can act on)."""


def target(request: ExportRequest, region: str) -> Target:
    """What the run of `request` would use, as the preflight's plain values."""
    from launcher.aws.preflight import Target

    if request.runner not in DOCTOR_RUNNERS:
        raise BadInput(
            f"--runner {request.runner!r}: doctor checks an account for a cloud runner: give --runner {'|'.join(DOCTOR_RUNNERS)}"
        )
    dest = request.destination
    common: dict[str, Any] = {
        "runner": request.runner,
        "region": region,
        "table": request.table,
        "bucket": dest.bucket,
        "prefix": dest.prefix,
        "expected_bucket_owner": request.expected_bucket_owner,
    }
    if request.runner == "emr-serverless":
        return Target(**common, roles=(("--execution-role", request.execution_role),))
    if request.runner == "glue":
        return Target(**common, roles=(("--glue-role", request.glue_role),))
    per_node = vcpus(request.instance_type)
    cores = per_node * request.core_nodes
    return Target(
        **common,
        roles=(("--service-role", request.service_role),),
        instance_profile=request.instance_profile,
        subnet_id=request.subnet_id,
        transient=request.cluster == "transient",
        on_demand_vcpus=per_node + (0 if request.spot else cores),
        spot_vcpus=cores if request.spot else 0,
    )


def report(findings: list[Finding], as_json: bool) -> None:
    from launcher.aws.preflight import MISSING

    if as_json:
        out.print(json.dumps([f.json() for f in findings]), markup=False)
    else:
        for f in findings:
            out.print(f.line(), markup=False)
    gaps = [f for f in findings if f.status == MISSING]
    if gaps:
        raise SomethingMissing(
            f"doctor: {len(gaps)} missing ({', '.join(sorted({f.subject for f in gaps}))}): fix them and run doctor again"
        )


@cli.command()
@options(ExportRequest)
def doctor(as_json: bool, **kw: Any) -> None:
    """Check the account for a cloud runner before the first export (read-only calls): its roles and
    their paths, the service-linked role, a subnet that reaches S3 and DynamoDB, the bucket and its
    owner, the table, the EC2 vCPU quota. One line per finding; exit 1 when something is missing."""
    from launcher.aws.preflight import check
    from launcher.aws.session import Aws

    request = build(ExportRequest, kw)
    aws = Aws(request.region)
    report(check(aws, target(request, aws.region_name)), as_json)
