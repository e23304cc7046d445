"""The Glue requests are pure: made from the plan and the same rendered step EMR runs, validated
offline against botocore's Glue model."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.validate import ParamValidator

from helpers import emr_plan
from launcher.export.estimate import estimate
from launcher.export.render import glue, render_export
from launcher.export.render.base import HELPERS_JAR

pytestmark = pytest.mark.unit


def validate(operation: str, params: dict) -> None:
    model = botocore.session.get_session().get_service_model("glue")
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    assert not report.has_errors(), report.generate_report()


def plan(**flags):
    return emr_plan(runner="glue", **flags)


def test_create_job_is_the_emr_step_as_a_glue_5_job():
    p = plan(workers=5, worker_type="G.2X", max_hours=2)
    out = render_export(p, glue.target(p.artifacts_uri))
    req = out.glue_job
    validate("CreateJob", req)
    validate("StartJobRun", out.start_job_run)
    args = out.steps[0]["HadoopJarStep"]["Args"]
    root = p.artifacts_uri
    assert req["Name"] == f"ddb-s3-export-{p.export_id}" and req["Command"]["ScriptLocation"] == args[-1] == f"{root}/export_job.py"
    assert req["Command"]["Name"] == "glueetl" and req["GlueVersion"] == "5.0"
    extra = req["DefaultArguments"]
    assert extra["--extra-py-files"] == f"{root}/ddbs3_job.zip"
    assert extra["--extra-jars"].split(",") == [f"{root}/{j}" for j in (*glue.CONNECTOR_JARS, HELPERS_JAR)]
    assert extra["--job-bookmark-option"] == "job-bookmark-disable" and extra["--user-jars-first"] == "true"
    assert (req["WorkerType"], req["NumberOfWorkers"], req["Timeout"], req["MaxRetries"]) == ("G.2X", 5, 120, 0)
    assert req["Tags"] == {"ddb-s3:managed": "true", "ddb-s3:export-id": p.export_id, "ddb-s3:table": "LabResults"}
    assert out.start_job_run == {"JobName": req["Name"], "Timeout": 120, "WorkerType": "G.2X", "NumberOfWorkers": 5}
    assert p.parallelism == 4 * 8  # four executor workers of 2 DPU (8 vCPU); one worker is the driver
    assert not any("/usr/share/aws/emr" in a for a in args)  # Glue has no EMR connector path: ours is uploaded


def test_extra_jars_carry_only_the_connectors_and_our_classes_ahead_of_glues():
    """--user-jars-first puts every class of --extra-jars ahead of Glue's own (Glue's "Job parameters"
    page), so they must not carry the fat connector jar's jackson, commons-lang3, netty, gson or SDK v2
    (issue 23): only org.apache.hadoop.dynamodb.* and dev.ddbs3.*."""
    import zipfile

    from launcher.export.run.glue import local_jars

    p = plan()
    extra = render_export(p, glue.target(p.artifacts_uri)).glue_job["DefaultArguments"]
    assert extra["--user-jars-first"] == "true"
    names = [u.rsplit("/", 1)[1] for u in extra["--extra-jars"].split(",")]
    assert names == ["emr-dynamodb-hadoop-5.0.0-classes.jar", HELPERS_JAR]
    uploads = local_jars()
    assert sorted(uploads) == sorted(names)
    for name, path in uploads.items():
        classes = [n for n in zipfile.ZipFile(path).namelist() if n.endswith(".class")]
        assert classes, name
        allowed = ("org/apache/hadoop/dynamodb/",) if name != HELPERS_JAR else ("dev/ddbs3/",)
        assert [c for c in classes if not c.startswith(allowed)] == [], name


def test_glue_shares_one_loader_so_it_names_our_credentials_provider():
    assert plan().connector_conf["dynamodb.customAWSCredentialsProvider"] == "dev.ddbs3.DefaultChainCredentialsProvider"
    assert "dynamodb.customAWSCredentialsProvider" not in emr_plan().connector_conf  # see plan.CUSTOM_PROVIDER_RUNNERS


def test_update_job_for_an_existing_glue_job():
    """What --dry-run shows for --glue-job: only what our run sets (the request sent is job_update of
    GetJob's job and this)."""
    p = plan(glue_job="team-export", glue_role="arn:aws:iam::123456789012:role/team")
    out = render_export(p, glue.target(p.artifacts_uri))
    validate("UpdateJob", out.glue_job)
    assert out.glue_job["JobName"] == "team-export" and out.glue_job["JobUpdate"]["Role"] == "arn:aws:iam::123456789012:role/team"
    assert "Tags" not in out.glue_job["JobUpdate"] and not p.glue.created
    assert sorted(out.glue_job["JobUpdate"]) == sorted(glue.RUN_MEMBERS)
    assert out.glue_job["JobUpdate"]["JobRunQueuingEnabled"] is False


# A job of the user's as GetJob answers it on Glue (every member set, the read-only ones included;
# MaxCapacity and AllocatedCapacity as Glue derives them from the workers).
USER_JOB = {
    "Name": "team-export",
    "JobMode": "SCRIPT",
    "JobRunQueuingEnabled": True,
    "Description": "the team's nightly job",
    "LogUri": "s3://team-logs/glue/",
    "Role": "arn:aws:iam::123456789012:role/team-glue",
    "CreatedOn": datetime(2025, 1, 1, tzinfo=UTC),
    "LastModifiedOn": datetime(2025, 1, 2, tzinfo=UTC),
    "ExecutionProperty": {"MaxConcurrentRuns": 3},
    "Command": {"Name": "glueetl", "ScriptLocation": "s3://team-code/nightly.py", "PythonVersion": "3"},
    "DefaultArguments": {
        "--TempDir": "s3://team-tmp/glue/",
        "--enable-metrics": "true",
        "--job-bookmark-option": "job-bookmark-enable",
        "--extra-jars": "s3://team-code/theirs.jar",
        "--extra-files": "s3://team-code/conf.json",
        "--region-hint": "eu-west-1",
    },
    "NonOverridableArguments": {"--extra-py-files": "s3://team-code/libs.zip", "--team-flag": "on", "--region-hint": "fixed"},
    "Connections": {"Connections": ["team-vpc"]},
    "MaxRetries": 2,
    "AllocatedCapacity": 10,
    "Timeout": 45,
    "MaxCapacity": 10.0,
    "WorkerType": "G.2X",
    "NumberOfWorkers": 5,
    "SecurityConfiguration": "team-kms",
    "NotificationProperty": {"NotifyDelayAfter": 10},
    "GlueVersion": "4.0",
    "CodeGenConfigurationNodes": {"node-1": {"S3CatalogSource": {"Name": "src", "Database": "db", "Table": "t"}}},
    "ExecutionClass": "FLEX",
    "SourceControlDetails": {"Provider": "GITHUB", "Repository": "team-jobs", "Owner": "team", "Branch": "main"},
    "MaintenanceWindow": "Sun:02",
    "ProfileName": "team-profile",
    "AutoUpgradeMetadata": {"IsAutoUpgraded": False},
}


def contract_violations(operation: str, params: dict) -> list[str]:
    from launcher.aws.contracts import violations

    model = botocore.session.get_session().get_service_model("glue")
    return violations(model.operation_model(operation).input_shape, params)


def test_job_update_members_are_botocores():
    """Every member JobUpdate takes is decided on (kept, or set by our run); the Job's others are read-only."""
    model = botocore.session.get_session().get_service_model("glue")
    members = tuple(model.shape_for("JobUpdate").members)
    assert members == glue.JOB_UPDATE_MEMBERS
    assert set(model.shape_for("Job").members) - set(members) == {
        "Name",
        "CreatedOn",
        "LastModifiedOn",
        "ProfileName",
        "AutoUpgradeMetadata",
    }
    assert set(glue.RUN_MEMBERS) <= set(members)
    assert set(USER_JOB) == set(model.shape_for("Job").members)  # the fixture has them all


def test_the_users_job_keeps_its_settings_under_ours():
    """Issue 23: UpdateJob replaces the whole definition, so the JobUpdate is the job as GetJob gave it
    with ours on top: their Connections, SecurityConfiguration, NotificationProperty, Timeout,
    DefaultArguments (--TempDir, --enable-metrics) stay; ours win on the same key."""
    p = plan(glue_job="team-export", workers=3, worker_type="G.1X")
    ours = render_export(p, glue.target(p.artifacts_uri)).glue_job["JobUpdate"]
    update = glue.job_update(USER_JOB, ours)
    request = {"JobName": "team-export", "JobUpdate": update}
    validate("UpdateJob", request)
    assert contract_violations("UpdateJob", request) == []
    root = p.artifacts_uri
    # theirs, kept
    for key in (
        "JobMode",
        "Description",
        "LogUri",
        "Connections",
        "SecurityConfiguration",
        "NotificationProperty",
        "Timeout",
        "SourceControlDetails",
        "MaintenanceWindow",
    ):
        assert update[key] == USER_JOB[key], key
    args = update["DefaultArguments"]
    assert {k: args[k] for k in ("--TempDir", "--enable-metrics", "--extra-files", "--region-hint")} == {
        k: USER_JOB["DefaultArguments"][k] for k in ("--TempDir", "--enable-metrics", "--extra-files", "--region-hint")
    }
    # ours, on top
    assert update["Command"] == {"Name": "glueetl", "ScriptLocation": f"{root}/export_job.py", "PythonVersion": "3"}
    assert update["Role"] == p.glue.role and update["GlueVersion"] == "5.0" and update["ExecutionClass"] == "STANDARD"
    assert (update["WorkerType"], update["NumberOfWorkers"], update["MaxRetries"]) == ("G.1X", 3, 0)
    assert update["ExecutionProperty"] == {"MaxConcurrentRuns": 1} and update["JobRunQueuingEnabled"] is False
    assert args["--job-bookmark-option"] == "job-bookmark-disable" and args["--user-jars-first"] == "true"
    assert args["--extra-py-files"] == f"{root}/ddbs3_job.zip"
    assert args["--extra-jars"] == ours["DefaultArguments"]["--extra-jars"]  # theirs would go ahead of Glue's classpath
    # their non-overridable arguments lose what ours sets (they would override ours in the run)
    assert update["NonOverridableArguments"] == {"--team-flag": "on", "--region-hint": "fixed"}
    # dropped: read-only members, the capacity Glue derives from the workers, the visual graph
    for key in (
        "Name",
        "CreatedOn",
        "LastModifiedOn",
        "ProfileName",
        "AutoUpgradeMetadata",
        "MaxCapacity",
        "AllocatedCapacity",
        "CodeGenConfigurationNodes",
    ):
        assert key not in update, key
    assert USER_JOB["DefaultArguments"]["--extra-jars"] == "s3://team-code/theirs.jar"  # the input is not changed


def test_the_users_job_as_it_was_for_the_restore():
    before = glue.as_job_update(USER_JOB)
    request = {"JobName": "team-export", "JobUpdate": before}
    validate("UpdateJob", request)
    assert contract_violations("UpdateJob", request) == []
    dropped = {
        "Name",
        "CreatedOn",
        "LastModifiedOn",
        "ProfileName",
        "AutoUpgradeMetadata",
        "MaxCapacity",
        "AllocatedCapacity",
        "CodeGenConfigurationNodes",
    }
    assert before == {k: v for k, v in USER_JOB.items() if k not in dropped}
    json.dumps(before)  # printed for a restore by hand when Glue refuses it


def test_capacity_of_jobs_without_workers():
    """A Python shell job (MaxCapacity 0.0625, no workers) keeps its MaxCapacity in the restore and
    loses it under our workers; a legacy job with AllocatedCapacity alone keeps that."""
    shell = {
        "Name": "shell",
        "Role": "r",
        "Command": {"Name": "pythonshell", "ScriptLocation": "s3://b/s.py"},
        "MaxCapacity": 0.0625,
        "AllocatedCapacity": 0,
        "Timeout": 2880,
        "MaxRetries": 0,
        "GlueVersion": "3.0",
    }
    assert glue.as_job_update(shell) == {k: v for k, v in shell.items() if k not in ("Name", "AllocatedCapacity")}
    p = plan(glue_job="shell")
    update = glue.job_update(shell, render_export(p, glue.target(p.artifacts_uri)).glue_job["JobUpdate"])
    validate("UpdateJob", {"JobName": "shell", "JobUpdate": update})
    assert "MaxCapacity" not in update and "AllocatedCapacity" not in update and update["Command"]["Name"] == "glueetl"
    assert "NonOverridableArguments" not in update and update["Timeout"] == 2880
    legacy = {"Name": "old", "Role": "r", "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/o.py"}, "AllocatedCapacity": 10}
    assert glue.as_job_update(legacy)["AllocatedCapacity"] == 10
    assert glue.as_job_update({**legacy, "Connections": None}) == glue.as_job_update(legacy)  # what GetJob leaves out stays out


def test_estimate_in_dpu_hours():
    e = estimate(10**9, 1000, False, True, "glue", True, "m5.xlarge", 2, 10, "G.2X")
    assert e.dpu_hours == pytest.approx(e.total_seconds / 3600 * 10 * 2)
    assert e.cluster_cost_usd == pytest.approx(e.dpu_hours * 0.44)
    assert "DPU-hours" in e.describe()


def test_glue_refusals():
    from launcher.core.errors import BadInput
    from launcher.options import build_request

    base = {"table": "LabResults", "to": "s3://lab-backups/p", "runner": "glue"}
    for extra, word in (
        ({"workers": 1}, "at least 2"),
        ({"engine": "hive"}, "hive"),
        ({"glue_job": "bad\nname"}, "Glue job"),
        ({"worker_type": "G.3X"}, "worker-type"),
    ):
        with pytest.raises(BadInput, match=word):
            build_request(base | extra, environ={})
