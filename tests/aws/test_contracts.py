"""Strict contracts (launcher/aws/contracts.py): what botocore and moto skip and AWS applies. First
the checker against the models' own rules (it can fail), then every cloud runner's rendered
requests, for ordinary and extreme inputs, validated the same way, and the session hook answering
as AWS does."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from helpers import plan_for, table_description
from launcher.aws.contracts import check_request, install, violations
from launcher.export.render import cloud_target, render_export
from launcher.export.render import serverless as serverless_render

pytestmark = pytest.mark.unit
MODELS = botocore.session.get_session()


def operation(service: str, name: str):
    return MODELS.get_service_model(service).operation_model(name)


def test_the_checker_applies_pattern_length_enum_and_required():
    create = operation("emr-serverless", "CreateApplication")
    assert violations(create.input_shape, {"name": "ok-name_1.2", "releaseLabel": "emr-7.9.0", "type": "SPARK", "clientToken": "t"}) == []
    found = violations(create.input_shape, {"name": "has spaces", "releaseLabel": "x" * 65, "type": "SPARK"})
    assert any("name: 'has spaces' does not match the pattern" in f for f in found), found
    assert any("releaseLabel: 65 characters, more than the maximum 64" in f for f in found), found
    assert any("missing required member 'clientToken'" in f for f in found), found
    job = operation("glue", "CreateJob")
    bad = violations(job.input_shape, {"Name": "j", "Role": "r", "Command": {"Name": "glueetl"}, "WorkerType": "G.3X"})
    assert any("WorkerType: 'G.3X' is not one of" in f for f in bad), bad
    emr = operation("emr", "RunJobFlow")
    assert any("missing required member 'Instances'" in f for f in violations(emr.input_shape, {"Name": "n"}))


def rendered_requests(plan):
    """(service, operation, request) of everything the plan's cloud runner sends that render builds."""
    rendered = render_export(plan, cloud_target(plan))
    if plan.runner == "glue":
        yield "glue", "CreateJob" if plan.glue.created else "UpdateJob", rendered.glue_job
        yield "glue", "StartJobRun", rendered.start_job_run
    elif plan.runner == "emr-serverless":
        if rendered.create_application is not None:
            yield "emr-serverless", "CreateApplication", rendered.create_application
        role = serverless_render.role_arn(plan.serverless.execution_role, "123456789012")
        yield "emr-serverless", "StartJobRun", {**rendered.start_job_run, "applicationId": "00fabc123def4567", "executionRoleArn": role}
    else:
        if rendered.run_job_flow is not None:
            yield "emr", "RunJobFlow", rendered.run_job_flow
        yield "emr", "AddJobFlowSteps", {"JobFlowId": "j-1ABCDEFGHIJKL", "Steps": rendered.steps}


LONGEST = "t" + "a.b-c_" * 42 + "xy"  # 255 characters: DynamoDB's longest table name, with dots and dashes
assert len(LONGEST) == 255


@pytest.mark.parametrize("runner", ["emr", "emr-serverless", "glue"])
@pytest.mark.parametrize("name", ["LabResults", "lab.results-2024_v1", LONGEST])
def test_every_rendered_request_passes_the_model(runner, name):
    flags = {"runner": runner}
    if runner == "emr":
        flags["log_uri"] = "s3://lab-logs/emr/"
    plan = plan_for(table_description(name=name), **flags)
    for service, op, request in rendered_requests(plan):
        assert violations(operation(service, op).input_shape, request) == [], (service, op)


def test_the_session_hook_answers_a_broken_request_as_aws_does():
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    install(session)
    client = session.client("emr-serverless", endpoint_url="http://127.0.0.1:9")  # nothing listens: nothing is sent
    with pytest.raises(ClientError) as e:
        client.create_application(name="ddb-s3 export LabResults", releaseLabel="emr-7.9.0", type="SPARK", clientToken="t")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "name: 'ddb-s3 export LabResults' does not match the pattern" in str(e.value)
    with pytest.raises(ClientError):
        check_request(operation("glue", "GetJob"), {"JobName": ""})  # min length 1
