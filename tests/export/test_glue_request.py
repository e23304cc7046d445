"""The Glue requests are pure: made from the plan and the same rendered step EMR runs, validated
offline against botocore's Glue model."""
from __future__ import annotations

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
    p = plan(glue_job="team-export", glue_role="arn:aws:iam::123456789012:role/team")
    out = render_export(p, glue.target(p.artifacts_uri))
    validate("UpdateJob", out.glue_job)
    assert out.glue_job["JobName"] == "team-export" and out.glue_job["JobUpdate"]["Role"] == "arn:aws:iam::123456789012:role/team"
    assert "Tags" not in out.glue_job["JobUpdate"] and not p.glue.created


def test_estimate_in_dpu_hours():
    e = estimate(10**9, 1000, False, True, "glue", True, "m5.xlarge", 2, 10, "G.2X")
    assert e.dpu_hours == pytest.approx(e.total_seconds / 3600 * 10 * 2)
    assert e.cluster_cost_usd == pytest.approx(e.dpu_hours * 0.44)
    assert "DPU-hours" in e.describe()


def test_glue_refusals():
    from launcher.core.errors import BadInput
    from launcher.options import build_request

    base = {"table": "LabResults", "to": "s3://lab-backups/p", "runner": "glue"}
    for extra, word in (({"workers": 1}, "at least 2"), ({"engine": "hive"}, "hive"), ({"glue_job": "bad\nname"}, "Glue job"),
                        ({"worker_type": "G.3X"}, "worker-type")):
        with pytest.raises(BadInput, match=word):
            build_request(base | extra, environ={})
