"""The EMR requests are pure: built from a plan, validated offline against botocore's EMR model."""

from __future__ import annotations

import json
import shutil
import subprocess

import botocore.session
import pytest
from botocore.validate import ParamValidator

from helpers import REPO_ROOT, emr_plan
from launcher.export.render import render_export
from launcher.export.render.base import EMR_CONNECTOR_JAR, HELPERS_JAR, Target

pytestmark = pytest.mark.unit
ROOT = REPO_ROOT
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def validate(operation: str, params: dict) -> None:
    model = botocore.session.get_session().get_service_model("emr")
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def rendered(plan):
    return render_export(plan, Target.emr(plan.artifacts_uri))


def test_run_job_flow_request_validates_against_botocore_model():
    plan = emr_plan(
        spot=True,
        log_uri="s3://lab-logs/emr/",
        subnet_id="subnet-0abc",
        core_nodes=3,
        connector_version="5.0.0",
        python_packages="boto3==1.44.5, pyarrow==26.0.1",
    )
    out = rendered(plan)
    validate("RunJobFlow", out.run_job_flow)
    validate("AddJobFlowSteps", {"JobFlowId": "j-1ABCDEF", "Steps": out.steps})
    req = out.run_job_flow
    assert req["ReleaseLabel"] == plan.cluster.release_label
    assert [a["Name"] for a in req["Applications"]] == ["Spark"]  # Hive only where the Hive engine runs
    assert [a["Name"] for a in rendered(emr_plan(engine="hive")).run_job_flow["Applications"]] == ["Spark", "Hive"]
    assert req["Instances"]["KeepJobFlowAliveWhenNoSteps"] is False
    assert req["Instances"]["Ec2SubnetId"] == "subnet-0abc"
    groups = {g["InstanceRole"]: g for g in req["Instances"]["InstanceGroups"]}
    assert groups["MASTER"]["Market"] == "ON_DEMAND" and groups["CORE"]["Market"] == "SPOT"
    assert groups["CORE"]["InstanceCount"] == 3
    assert req["AutoTerminationPolicy"] == {"IdleTimeout": 3600}
    assert req["LogUri"] == "s3://lab-logs/emr/"
    assert (req["ServiceRole"], req["JobFlowRole"]) == ("EMR_DefaultRole", "EMR_EC2_DefaultRole")
    assert {t["Key"]: t["Value"] for t in req["Tags"]} == {
        "ddb-s3:managed": "true",
        "ddb-s3:export-id": plan.export_id,
        "ddb-s3:table": "LabResults",
    }
    assert req["Steps"] == out.steps and out.steps[0]["ActionOnFailure"] == "TERMINATE_CLUSTER"


def test_bootstrap_actions_point_at_uploaded_scripts_and_swap_the_connector_jar():
    plan = emr_plan(connector_version="5.0.0", python_packages="boto3==1.44.5")
    out = rendered(plan)
    root = plan.artifacts_uri
    assert root == f"s3://lab-backups/ddb/_ddb_s3_artifacts/{plan.export_id}"
    actions = out.run_job_flow["BootstrapActions"]
    assert [a["ScriptBootstrapAction"]["Path"] for a in actions] == [
        f"{root}/bootstrap/max-runtime.sh",
        f"{root}/bootstrap/install-connector.sh",
        f"{root}/bootstrap/install-python-deps.sh",
    ]
    assert actions[1]["ScriptBootstrapAction"]["Args"] == ["5.0.0"]
    assert actions[2]["ScriptBootstrapAction"]["Args"] == ["boto3==1.44.5"]
    assert out.files["bootstrap/install-connector.sh"] == (ROOT / "bootstrap/install-connector.sh").read_text()
    jars = out.steps[0]["HadoopJarStep"]["Args"][out.steps[0]["HadoopJarStep"]["Args"].index("--jars") + 1]
    assert jars.split(",") == ["/usr/lib/ddb-s3/emr-dynamodb-hadoop-5.0.0.jar", f"{root}/{HELPERS_JAR}"]


def test_default_uses_release_connector_and_no_bootstrap_and_existing_cluster_has_no_run_job_flow():
    out = rendered(emr_plan())
    # only the guard that ends the cluster after --max-hours (default: 3x the estimate, at least an hour)
    (guard,) = out.run_job_flow["BootstrapActions"]
    assert guard["ScriptBootstrapAction"]["Path"].endswith("/bootstrap/max-runtime.sh")
    assert guard["ScriptBootstrapAction"]["Args"] == [str(emr_plan().cluster.max_runtime_seconds)]
    assert emr_plan().cluster.max_runtime_seconds >= 3600 and emr_plan(max_hours=2).cluster.max_runtime_seconds == 7200
    assert [n for n in out.files if n.startswith("bootstrap/")] == ["bootstrap/max-runtime.sh"]
    assert EMR_CONNECTOR_JAR in json.dumps(out.steps)
    existing = rendered(emr_plan(cluster="j-1ABCDEF"))
    assert existing.run_job_flow is None and existing.steps[0]["ActionOnFailure"] == "CONTINUE"
    assert not any(name.startswith("bootstrap/") for name in existing.files)  # not ours to shut down


def test_rendered_emr_artifacts_hold_no_credential(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN")
    out = rendered(emr_plan(log_uri="s3://lab-logs/emr/", python_packages="boto3==1.44.5"))
    text = json.dumps(out.run_job_flow) + json.dumps(out.steps) + "".join(c for c in out.files.values() if isinstance(c, str))
    for secret in ("AKIAIOSFODNN7EXAMPLE", SECRET, "FwoGZXIvYXdzEXAMPLETOKEN"):
        assert secret not in text


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"idle_timeout": 30}, "--idle-timeout"),
        ({"connector_version": "5.0; rm -rf /"}, "--connector-version"),
        ({"python_packages": "boto3"}, "--python-packages"),
        ({"python_packages": "boto3==1.0 $(id)"}, "--python-packages"),
        ({"cluster": "my-cluster"}, "--cluster"),
    ],
)
def test_bad_emr_options_are_one_line_bad_input(flags, message):
    from launcher.core.errors import BadInput

    with pytest.raises(BadInput, match=message):
        emr_plan(**flags)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt-get install shellcheck)")
@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bootstrap").glob("*.sh")))
def test_bootstrap_scripts_are_shellcheck_clean(script):
    proc = subprocess.run(["shellcheck", "-s", "bash", str(ROOT / "bootstrap" / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_bootstrap_scripts_refuse_unpinned_input():
    proc = subprocess.run(["bash", str(ROOT / "bootstrap/install-python-deps.sh"), "boto3"], capture_output=True, text=True)
    assert proc.returncode == 2 and "not pinned" in proc.stderr
    # an option with '==' in it would pass a pinned-looking check and redirect pip
    proc = subprocess.run(
        ["bash", str(ROOT / "bootstrap/install-python-deps.sh"), "--index-url=http://x/==1"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "is an option" in proc.stderr
    proc = subprocess.run(["bash", str(ROOT / "bootstrap/install-connector.sh"), "5.0;x"], capture_output=True, text=True)
    assert proc.returncode == 2 and "bad version" in proc.stderr


def test_roles_under_a_path_are_sent_as_their_arns_and_no_subnet_is_sent_unless_given():
    """Issue 23: a role under /service-role/ reaches RunJobFlow as the ARN given (a name would be taken
    at the path /); the request stays valid under the strict contracts. Without --subnet-id no
    Ec2SubnetId is sent: EMR then needs a default VPC, which `ddb-s3 doctor` checks."""
    from launcher.aws.contracts import violations

    service = "arn:aws:iam::123456789012:role/service-role/EMR_DefaultRole_V2"
    profile = "arn:aws:iam::123456789012:instance-profile/emr/EMR_EC2_DefaultRole"
    req = rendered(emr_plan(service_role=service, instance_profile=profile)).run_job_flow
    assert (req["ServiceRole"], req["JobFlowRole"]) == (service, profile)
    assert "Ec2SubnetId" not in req["Instances"]
    model = botocore.session.get_session().get_service_model("emr").operation_model("RunJobFlow")
    assert violations(model.input_shape, req) == []
