"""`ddb-s3 doctor`: a preflight of an account for a cloud runner, with read-only calls only.

What a fresh account lacks shows on the first real run, after a cluster or an application was asked
for. This module asks first: the roles (and where their paths put them), the instance profile and its
role, the service-linked role, a subnet that reaches S3 and DynamoDB, the bucket and its owner, the
table, and the EC2 vCPU quota against the cluster. Each answer becomes a Finding, one line.

Each role's trust policy (in GetRole's answer) must let the service that assumes it do so.

The verdicts are pure functions of what AWS answered (tested without AWS); `check()` makes the calls.
Every call here is one `ddb-s3 iam-policy --for doctor --runner R` grants (launcher/aws/iam_policies.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from launcher.aws.errors import DENIED_CODES, describe, error_code
from launcher.aws.iam_policies import EC2_ON_DEMAND_VCPU_QUOTA, EC2_SPOT_VCPU_QUOTA, SERVICE_LINKED_ROLES
from launcher.aws.session import Aws

OK, MISSING, NOTE, NOT_CHECKED = "ok", "missing", "note", "not checked"
# The tag the v2 managed policies (AmazonEMRServicePolicy_v2) require on the subnet and security
# groups EMR launches into (EMR Management Guide, "Service role for Amazon EMR (EMR role)").
EMR_V2_TAG = "for-use-with-amazon-emr-managed-policies"
SLR_COMMAND = "aws iam create-service-linked-role --aws-service-name {service}"


@dataclass(frozen=True)
class Finding:
    status: str  # ok | missing | note | not checked
    subject: str  # what was checked: "role", "subnet", "quota", ...
    message: str  # names the thing, and for anything but ok what to do

    def line(self) -> str:
        return f"{self.status:<11} {self.subject}: {self.message}"

    def json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """What the run would use, as plain values (the CLI makes it from the export's options)."""

    runner: str  # emr | emr-serverless | glue
    region: str
    table: str
    bucket: str
    prefix: str
    expected_bucket_owner: str | None
    roles: tuple[tuple[str, str], ...]  # (flag, role name or ARN) the run passes
    instance_profile: str | None = None  # emr
    subnet_id: str | None = None  # emr
    transient: bool = True  # emr: a cluster is started (the quota matters)
    on_demand_vcpus: int = 0  # emr: what the cluster runs On-Demand
    spot_vcpus: int = 0  # emr: what it runs on Spot


# --------------------------------------------------------------------------- verdicts (pure)


def _name(role: str) -> str:
    return role.rpartition("/")[2]


def role_verdict(flag: str, given: str, found: dict[str, Any] | None) -> Finding:
    """A role the run passes, as GetRole answered (None: it does not exist). A role given by name is
    taken at the path "/": one that lives under another path needs its ARN."""
    if found is None:
        return Finding(MISSING, "role", f"{given} not found: create it, or pass {flag} with an existing role's name or ARN")
    arn, path = found["Arn"], found.get("Path", "/")
    if given.startswith("arn:"):
        if given != arn:
            return Finding(MISSING, "role", f"{given} is not the role's ARN, {arn}: pass {flag} {arn}")
        return Finding(OK, "role", f"{arn} ({flag})")
    if path != "/":
        return Finding(
            MISSING,
            "role",
            f"{given} lives under the path {path}, but a name is taken at the path / (role/{given}, a wrong ARN and a denied "
            f"PassRole): pass {flag} {arn}, and print the policy with it",
        )
    return Finding(OK, "role", f"{arn} ({flag}; a name: path / assumed, and found there)")


# Who assumes each role the run passes (its trust policy must name the service): EMR's service role,
# the instance profile's role (EC2), the EMR Serverless job runtime role, the Glue job's role.
TRUSTED_SERVICE = {
    "--service-role": "elasticmapreduce.amazonaws.com",
    "--instance-profile": "ec2.amazonaws.com",
    "--execution-role": "emr-serverless.amazonaws.com",
    "--glue-role": "glue.amazonaws.com",
}


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [] if v is None else [v]


def trusts(document: Any, service: str) -> bool:
    """Whether a role's trust policy (GetRole's AssumeRolePolicyDocument, decoded) lets `service`
    assume it: an Allow of sts:AssumeRole to the service principal (or its aws-cn form, .cn)."""
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document))
        except ValueError:
            return False
    for st in _as_list((document or {}).get("Statement")):
        if st.get("Effect") != "Allow" or not any(a in ("sts:AssumeRole", "sts:*", "*") for a in _as_list(st.get("Action"))):
            continue
        principal = st.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if any(str(p) in (service, service + ".cn") for p in services):
            return True
    return False


def trust_verdict(flag: str, role: dict[str, Any]) -> Finding | None:
    """None when the role trusts the service that assumes it, else what to fix."""
    service = TRUSTED_SERVICE[flag]
    if trusts(role.get("AssumeRolePolicyDocument"), service):
        return None
    return Finding(
        MISSING,
        "role",
        f"{role['Arn']} does not trust {service} (its trust policy has no Allow of sts:AssumeRole to that service): "
        f"add it (aws iam update-assume-role-policy --role-name {role['RoleName']} --policy-document ...)",
    )


def profile_verdict(given: str, found: dict[str, Any] | None) -> list[Finding]:
    """The EC2 instance profile (GetInstanceProfile's InstanceProfile; None: it does not exist), and
    the role it holds, which the launcher passes to EC2."""
    if found is None:
        return [
            Finding(
                MISSING,
                "instance profile",
                f"{given} not found: create it with its role (`aws emr create-default-roles` makes EMR_EC2_DefaultRole), "
                "or pass --instance-profile",
            )
        ]
    roles = found.get("Roles") or []
    if not roles:
        return [Finding(MISSING, "instance profile", f"{found['Arn']} holds no role: add one (aws iam add-role-to-instance-profile)")]
    role = roles[0]
    out = [Finding(OK, "instance profile", f"{found['Arn']} holds the role {role['Arn']}")]
    untrusted = trust_verdict("--instance-profile", role)
    if untrusted:
        out = [untrusted]
    if role["RoleName"] != found["InstanceProfileName"] or role.get("Path", "/") != "/":
        out.append(
            Finding(
                NOTE,
                "instance profile",
                f"its role is {role['Arn']}, not the profile's name at path /: print the policy with "
                f"--instance-profile {found['InstanceProfileName']} --instance-role {role['Arn']}",
            )
        )
    return out


def slr_verdict(runner: str, found: dict[str, Any] | None) -> Finding:
    service, name = SERVICE_LINKED_ROLES[runner]
    if found is None:
        return Finding(
            MISSING,
            "service-linked role",
            f"{name} does not exist yet: the first run creates it only if the caller may iam:CreateServiceLinkedRole "
            f"(the printed policy grants it); or create it once: {SLR_COMMAND.format(service=service)}",
        )
    return Finding(OK, "service-linked role", found["Arn"])


def route_table_of(subnet: dict[str, Any], tables: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The subnet's route table: the one associated with it, else its VPC's main table."""
    tables = list(tables)
    for t in tables:
        if any(a.get("SubnetId") == subnet["SubnetId"] for a in t.get("Associations") or []):
            return t
    for t in tables:
        if t.get("VpcId", subnet["VpcId"]) == subnet["VpcId"] and any(a.get("Main") for a in t.get("Associations") or []):
            return t
    return None


def routes_out(table: dict[str, Any] | None, endpoints: Iterable[dict[str, Any]], region: str) -> dict[str, str | None]:
    """How a route table reaches S3 and DynamoDB: {"s3": "<how>" or None, "dynamodb": ...}. A default
    route through an internet gateway or a NAT gateway reaches both; else a gateway endpoint of the
    service on this table does (VPC User Guide, gateway endpoints)."""
    if table is None:
        return {"s3": None, "dynamodb": None}
    default = next(
        (r for r in table.get("Routes") or [] if r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("State", "active") == "active"),
        None,
    )
    via = None
    if default is not None:
        if default.get("NatGatewayId"):
            via = f"NAT gateway {default['NatGatewayId']}"
        elif str(default.get("GatewayId", "")).startswith("igw-"):
            via = f"internet gateway {default['GatewayId']}"
    out: dict[str, str | None] = {}
    for service in ("s3", "dynamodb"):
        endpoint = next(
            (
                e
                for e in endpoints
                if e.get("ServiceName") == f"com.amazonaws.{region}.{service}"
                and e.get("VpcEndpointType", "Gateway") == "Gateway"
                and table["RouteTableId"] in (e.get("RouteTableIds") or [])
            ),
            None,
        )
        out[service] = via or (f"gateway endpoint {endpoint['VpcEndpointId']}" if endpoint else None)
    return out


def subnet_verdict(
    subnet: dict[str, Any], tables: Iterable[dict[str, Any]], endpoints: Iterable[dict[str, Any]], region: str
) -> list[Finding]:
    table = route_table_of(subnet, tables)
    reach = routes_out(table, endpoints, region)
    name = f"{subnet['SubnetId']} (VPC {subnet['VpcId']}, {subnet.get('AvailabilityZone', '?')})"
    lacking = [s for s, how in reach.items() if how is None]
    if lacking:
        what = " and ".join({"s3": "S3", "dynamodb": "DynamoDB"}[s] for s in lacking)
        return [
            Finding(
                MISSING,
                "subnet",
                f"{name} has no route to {what} (route table {table['RouteTableId'] if table else 'none'}): add a NAT gateway "
                f"route, or gateway endpoints com.amazonaws.{region}.s3 and .dynamodb on that table, or pass another --subnet-id",
            )
        ]
    hows = sorted(set(reach.values()), key=str)
    out = [Finding(OK, "subnet", f"{name} reaches S3 and DynamoDB through {', '.join(str(h) for h in hows)}")]
    if all(h and h.startswith("gateway endpoint") for h in hows):
        out.append(
            Finding(
                NOTE,
                "subnet",
                f"{subnet['SubnetId']} has no NAT or internet route: the nodes reach S3 and DynamoDB only; a private subnet "
                "also needs the EMR service's own endpoints (EMR Management Guide, 'Configure networking in a VPC')",
            )
        )
    tags = {t["Key"]: t.get("Value") for t in subnet.get("Tags") or []}
    if tags.get(EMR_V2_TAG) != "true":
        out.append(
            Finding(
                NOTE,
                "subnet",
                f"{subnet['SubnetId']} has no tag {EMR_V2_TAG}=true: a service role with AmazonEMRServicePolicy_v2 may not "
                f"launch into it; tag it (aws ec2 create-tags --resources {subnet['SubnetId']} --tags Key={EMR_V2_TAG},Value=true)",
            )
        )
    return out


def no_default_vpc(region: str) -> Finding:
    return Finding(
        MISSING,
        "subnet",
        f"no --subnet-id and no default VPC in {region}: RunJobFlow without Ec2SubnetId launches into the default VPC "
        "and fails; pass --subnet-id subnet-... of a subnet that reaches S3 and DynamoDB",
    )


def quota_verdict(code: str, label: str, needed: int, value: float | None, why: str = "") -> Finding:
    subject = f"quota {code}"
    if value is None:
        return Finding(
            NOT_CHECKED,
            subject,
            f"{label}: {why}; see it with `aws service-quotas get-service-quota --service-code ec2 --quota-code {code}`",
        )
    if value < needed:
        return Finding(
            MISSING,
            subject,
            f"{label} is {value:g} vCPUs, the cluster needs {needed}: ask for more (aws service-quotas "
            f"request-service-quota-increase --service-code ec2 --quota-code {code} --desired-value {needed}) or a smaller --instance-type/--core-nodes",
        )
    return Finding(OK, subject, f"{label}: {value:g} vCPUs for the cluster's {needed} (instances already running count against it too)")


# --------------------------------------------------------------------------- the calls


def _call(fn: Callable[..., Any], missing: Iterable[str] = (), **kw: Any) -> tuple[Any, str | None]:
    """(the answer, None); (None, None) when AWS answered that the thing does not exist (a code in
    `missing`); (None, why) when the call could not tell."""
    try:
        return fn(**kw), None
    except ClientError as e:
        code = error_code(e)
        if code in missing:
            return None, None
        if code in DENIED_CODES:
            return None, f"not allowed ({describe(e)}): attach `ddb-s3 iam-policy --for doctor`"
        return None, describe(e)
    except BotoCoreError as e:
        return None, str(e)


def _not_checked(subject: str, what: str, why: str) -> Finding:
    return Finding(NOT_CHECKED, subject, f"{what}: {why}")


def check_table(aws: Aws, t: Target) -> list[Finding]:
    desc, why = _call(aws.client("dynamodb").describe_table, ("ResourceNotFoundException",), TableName=t.table)
    if why:
        return [_not_checked("table", t.table, why)]
    if desc is None:
        return [Finding(MISSING, "table", f"{t.table} not found in {t.region}: check --table and --region")]
    table = desc["Table"]
    status = table.get("TableStatus")
    if status not in ("ACTIVE", "UPDATING"):
        return [Finding(MISSING, "table", f"{t.table} is {status}, not ACTIVE: wait for it")]
    return [Finding(OK, "table", f"{table.get('TableArn', t.table)} ({status})")]


def check_bucket(aws: Aws, t: Target) -> list[Finding]:
    s3 = aws.client("s3")
    owner = {"ExpectedBucketOwner": t.expected_bucket_owner} if t.expected_bucket_owner else {}
    _, why = _call(s3.list_objects_v2, Bucket=t.bucket, Prefix=t.prefix, MaxKeys=1, **owner)
    if why and why.startswith("NoSuchBucket"):
        return [Finding(MISSING, "bucket", f"{t.bucket} does not exist: create it in {t.region} or fix --to")]
    if why:
        by = f" (owned by {t.expected_bucket_owner}?)" if t.expected_bucket_owner else ""
        return [Finding(MISSING, "bucket", f"{t.bucket} cannot be listed under {t.prefix or '/'}{by}: {why}")]
    who = f", owned by {t.expected_bucket_owner}" if t.expected_bucket_owner else " (pass --expected-bucket-owner to check its owner)"
    out = [Finding(OK, "bucket", f"{t.bucket} lists under {t.prefix or '/'}{who}")]
    loc, why = _call(s3.get_bucket_location, Bucket=t.bucket, **owner)
    if why:
        out.append(_not_checked("bucket", f"{t.bucket}'s region", why))
    else:
        region = loc.get("LocationConstraint") or "us-east-1"
        if region != t.region:
            out.append(Finding(NOTE, "bucket", f"{t.bucket} is in {region}, the run in {t.region}: data crosses regions (slower, billed)"))
    return out


def check_roles(aws: Aws, t: Target) -> list[Finding]:
    iam = aws.client("iam")
    out = []
    for flag, role in t.roles:
        found, why = _call(iam.get_role, ("NoSuchEntity",), RoleName=_name(role))
        if why:
            out.append(_not_checked("role", role, why))
            continue
        out.append(role_verdict(flag, role, found and found["Role"]))
        untrusted = found and trust_verdict(flag, found["Role"])
        if untrusted:
            out.append(untrusted)
    if t.runner in SERVICE_LINKED_ROLES:
        _, name = SERVICE_LINKED_ROLES[t.runner]
        found, why = _call(iam.get_role, ("NoSuchEntity",), RoleName=name)
        out.append(_not_checked("service-linked role", name, why) if why else slr_verdict(t.runner, found and found["Role"]))
    if t.instance_profile:
        found, why = _call(iam.get_instance_profile, ("NoSuchEntity",), InstanceProfileName=_name(t.instance_profile))
        out += (
            [_not_checked("instance profile", t.instance_profile, why)]
            if why
            else profile_verdict(t.instance_profile, found and found["InstanceProfile"])
        )
    return out


def check_network(aws: Aws, t: Target) -> list[Finding]:
    ec2 = aws.client("ec2")
    if t.subnet_id:
        found, why = _call(ec2.describe_subnets, ("InvalidSubnetID.NotFound",), SubnetIds=[t.subnet_id])
        if why:
            return [_not_checked("subnet", t.subnet_id, why)]
        if not found or not found["Subnets"]:
            return [Finding(MISSING, "subnet", f"{t.subnet_id} not found in {t.region}: check --subnet-id and --region")]
        subnets = found["Subnets"]
    else:
        vpcs, why = _call(ec2.describe_vpcs, Filters=[{"Name": "is-default", "Values": ["true"]}])
        if why:
            return [_not_checked("subnet", "the default VPC", why)]
        if not vpcs["Vpcs"]:
            return [no_default_vpc(t.region)]
        vpc = vpcs["Vpcs"][0]["VpcId"]
        found, why = _call(
            ec2.describe_subnets, Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}]
        )
        if why:
            return [_not_checked("subnet", f"the default VPC {vpc}'s subnets", why)]
        subnets = found["Subnets"]
        if not subnets:
            return [Finding(MISSING, "subnet", f"the default VPC {vpc} has no default subnet: pass --subnet-id")]
    vpcs_of = sorted({s["VpcId"] for s in subnets})
    tables, why = _call(ec2.describe_route_tables, Filters=[{"Name": "vpc-id", "Values": vpcs_of}])
    if why:
        return [_not_checked("subnet", "route tables", why)]
    endpoints, why = _call(ec2.describe_vpc_endpoints, Filters=[{"Name": "vpc-id", "Values": vpcs_of}])
    if why:
        return [_not_checked("subnet", "VPC endpoints", why)]
    out: list[Finding] = []
    if not t.subnet_id:
        out.append(Finding(NOTE, "subnet", f"no --subnet-id: EMR picks one of the default VPC {vpcs_of[0]}'s subnets; each is checked"))
    for subnet in subnets:
        out += subnet_verdict(subnet, tables["RouteTables"], endpoints["VpcEndpoints"], t.region)
    return out


def check_quotas(aws: Aws, t: Target) -> list[Finding]:
    if not t.transient:
        return [Finding(NOTE, "quota", "--cluster j-...: no cluster is started, no vCPU quota is needed")]
    sq = aws.client("service-quotas")
    out = []
    wanted = [(EC2_ON_DEMAND_VCPU_QUOTA, "Running On-Demand Standard instances", t.on_demand_vcpus)]
    if t.spot_vcpus:
        wanted.append((EC2_SPOT_VCPU_QUOTA, "All Standard Spot Instance Requests", t.spot_vcpus))
    for code, label, needed in wanted:
        got, why = _call(sq.get_service_quota, ServiceCode="ec2", QuotaCode=code)
        value = got["Quota"].get("Value") if got else None
        out.append(quota_verdict(code, label, needed, value, why or "no value in the answer"))
    return out


def check(aws: Aws, t: Target) -> list[Finding]:
    """Every finding for the target, in the order a run would meet them."""
    out = check_table(aws, t) + check_bucket(aws, t) + check_roles(aws, t)
    if t.runner == "emr":
        out += check_network(aws, t) + check_quotas(aws, t)
    return out


def missing(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.status == MISSING]
