"""The EMR Serverless requests are pure: made from the plan and the same rendered step EMR runs,
validated offline against botocore's emr-serverless model."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from helpers import emr_plan
from launcher.core.quoting import submit_parameters
from launcher.export.estimate import estimate
from launcher.export.render import Target, render_export, serverless
from launcher.export.run.step_logs import driver_log_key

pytestmark = pytest.mark.unit
ROLE = "arn:aws:iam::123456789012:role/ddb-s3-serverless-job"


def validate(operation: str, params: dict) -> None:
    model = botocore.session.get_session().get_service_model("emr-serverless")
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def plan(**flags):
    return emr_plan(runner="emr-serverless", **flags)


def test_start_job_run_is_the_emr_step_as_spark_submit_parameters():
    p = plan(log_uri="s3://lab-logs/sls/", workers=3)
    step = render_export(p, Target.emr(p.artifacts_uri)).steps[0]
    req = serverless.start_job_run_request(p, step, "00fabc123def4g09", ROLE)
    validate("StartJobRun", req)
    args = step["HadoopJarStep"]["Args"]
    driver = req["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == args[-1] == f"{p.artifacts_uri}/export_job.py"
    params = driver["sparkSubmitParameters"].split(" ")
    # the step's own options, in order, without what EMR Serverless decides itself
    kept = [a for i, a in enumerate(args[1:-1]) if a not in ("--deploy-mode", "--name") and args[i] not in ("--deploy-mode", "--name")]
    assert params[: len(kept)] == kept
    assert "--deploy-mode" not in params and "--name" not in params
    assert f"{p.artifacts_uri}/ddbs3_job.zip" in params and "spark.executor.instances=3" in params
    assert "spark.dynamicAllocation.enabled=false" in params
    assert req["clientToken"] == p.export_id and req["executionRoleArn"] == ROLE
    assert req["executionTimeoutMinutes"] == p.serverless.timeout_minutes >= 60
    assert req["configurationOverrides"]["monitoringConfiguration"]["s3MonitoringConfiguration"]["logUri"] == "s3://lab-logs/sls/"
    assert req["tags"] == {"ddb-s3:managed": "true", "ddb-s3:export-id": p.export_id, "ddb-s3:table": "LabResults"}
    assert "entryPointArguments" not in driver


def test_create_application_request_and_the_timeout_from_the_plan():
    p = plan(workers=4, max_hours=0.5)
    req = serverless.create_application_request(p)
    validate("CreateApplication", req)
    assert req["type"] == "SPARK" and req["releaseLabel"] == p.serverless.release_label
    assert req["maximumCapacity"] == {"cpu": "20 vCPU", "memory": "80 GB"}  # 4 executors and the driver
    assert req["autoStopConfiguration"]["enabled"] and req["tags"]["ddb-s3:managed"] == "true"
    assert p.serverless.timeout_minutes == 30
    assert plan(max_hours=0.01).serverless.timeout_minutes == 5  # EMR Serverless's minimum
    assert p.parallelism == 16


def test_dry_run_render_carries_both_requests_and_no_emr_cluster():
    out = render_export(plan(), Target.emr(plan().artifacts_uri))
    assert out.run_job_flow is None and out.create_application is not None
    assert out.start_job_run["applicationId"] == "<created for the run>"
    assert out.start_job_run["executionRoleArn"] == "arn:aws:iam::<account>:role/ddb-s3-serverless-job"
    own = render_export(plan(application_id="00fabc123def4g09"), Target.emr(plan().artifacts_uri))
    assert own.create_application is None and own.start_job_run["applicationId"] == "00fabc123def4g09"


def test_role_arn_and_driver_log_key():
    assert serverless.role_arn("jobs", "123456789012") == "arn:aws:iam::123456789012:role/jobs"
    assert serverless.role_arn(ROLE, "999999999999") == ROLE
    # a role under a path is taken as its ARN, whole (issue 23); a name is at the path /
    under = "arn:aws:iam::123456789012:role/service-role/AmazonEMR-ExecutionRole-1"
    assert serverless.role_arn(under, "999999999999") == under
    assert serverless.role_arn("jobs", "123456789012", "aws-cn") == "arn:aws-cn:iam::123456789012:role/jobs"
    assert driver_log_key("s3://b/logs/", "app", "run") == "s3://b/logs/applications/app/jobs/run/SPARK_DRIVER/stderr.gz"


@pytest.mark.parametrize("bad", ["has space", "tab\there", "new\nline", "quote'", 'dq"', "back\\slash", "", "\x01"])
def test_submit_parameters_refuse_what_the_service_would_split(bad):
    with pytest.raises(ValueError):
        submit_parameters(["--conf", bad])


def test_submit_parameters_pass_everything_else_unchanged():
    args = ["--conf", "spark.x=a,b;c$d{e}", "--jars", "s3://b/k/a.jar,/usr/share/x.jar", "--py-files", "s3://b/caf\u00e9.zip"]
    assert submit_parameters(args).split(" ") == args


def test_estimate_in_vcpu_and_gb_hours():
    one_gb = estimate(10**9, 1000, False, True, "emr-serverless", True, "m5.xlarge", 2, 2)
    assert one_gb.vcpu_hours == pytest.approx(one_gb.total_seconds / 3600 * 3 * 4)
    assert one_gb.gb_hours == pytest.approx(one_gb.vcpu_hours * 4)
    assert "vCPU-hours" in one_gb.describe() and "GB-hours" in one_gb.describe()
    tiny = estimate(1000, 1000, False, True, "emr-serverless", True, "m5.xlarge", 2, 1)
    assert tiny.vcpu_hours == pytest.approx(60 / 3600 * 2 * 4) or tiny.total_seconds > 60  # a minute at least


def test_bad_combinations_are_refused():
    from launcher.core.errors import BadInput
    from launcher.options import build_request

    base = {"table": "LabResults", "to": "s3://lab-backups/p", "runner": "emr-serverless"}
    for extra, word in (
        ({"engine": "hive"}, "hive"),
        ({"python_packages": "boto3==1.0.0"}, "bootstrap"),
        ({"application_id": "Not-An-Id"}, "application"),
        ({"execution_role": "bad role"}, "role"),
    ):
        with pytest.raises(BadInput, match=word):
            build_request(base | extra, environ={})
