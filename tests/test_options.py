"""One option model per command family on shared fields: the same layers (defaults < ddb-s3.toml <
DDB_S3_* < flags) for export, verify, download, restore and convert; what a run acts on comes
from its command line only."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from click.testing import CliRunner

from launcher.cli import cli
from launcher.core.errors import BadInput
from launcher.options import ConvertOptions, DownloadOptions, ExportRequest, Options, RestoreOptions, VerifyOptions, load_config_file

pytestmark = pytest.mark.unit
FAMILIES = [ExportRequest, VerifyOptions, DownloadOptions, RestoreOptions, ConvertOptions]


def test_shared_fields_are_declared_once():
    for family in FAMILIES:
        assert issubclass(family, Options)
        for name in ("region", "expected_bucket_owner"):
            assert repr(family.model_fields[name]) == repr(Options.model_fields[name])
            assert name not in vars(family).get("__annotations__", {})  # inherited, not declared again
    assert set(Options.families) >= set(FAMILIES)


def test_config_file_layers_apply_to_every_family(tmp_path: Path):
    cfg = tmp_path / "ddb-s3.toml"
    cfg.write_text(
        '[default]\nregion = "eu-west-1"\nexpected_bucket_owner = "123456789012"\nconcurrency = 3\n'
        "read_percent = 0.2\n[profiles.lab]\nwrite_percent = 0.25\n"
    )
    restore = RestoreOptions.build({"table": "Target"}, config_path=cfg, profile="lab", environ={})
    assert (restore.region, restore.expected_bucket_owner, restore.concurrency, restore.write_percent) == (
        "eu-west-1",
        "123456789012",
        3,
        0.25,
    )
    download = DownloadOptions.build({}, config_path=cfg, environ={"DDB_S3_CONCURRENCY": "5"})
    assert (download.expected_bucket_owner, download.concurrency) == ("123456789012", 5)  # env beats the file
    assert DownloadOptions.build({"concurrency": 9}, config_path=cfg, environ={"DDB_S3_CONCURRENCY": "5"}).concurrency == 9
    export = ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/x"}, config_path=cfg, environ={})
    assert (export.read_percent, export.expected_bucket_owner) == (0.2, "123456789012")
    verify = VerifyOptions.build({}, config_path=cfg, environ={"DDB_S3_REGION": "us-west-2"})
    assert (verify.region, verify.expected_bucket_owner) == ("us-west-2", "123456789012")


def test_what_a_run_acts_on_comes_from_the_command_line_only(tmp_path: Path):
    # A [default] table is the export's source; it must never pick a restore's target.
    cfg = tmp_path / "ddb-s3.toml"
    cfg.write_text('[default]\ntable = "LabResults"\n')
    assert load_config_file(cfg, None) == {"table": "LabResults"}  # a key of the export family: no error
    with pytest.raises(BadInput, match=r"^--table is required$"):
        RestoreOptions.build({}, config_path=cfg, environ={"DDB_S3_TABLE": "LabResults"})
    with pytest.raises(BadInput, match=r"^--out is required$"):
        ConvertOptions.build({"format": "csv"}, environ={"DDB_S3_OUT": "/tmp/x.csv"})


def test_unknown_keys_are_those_no_family_has(tmp_path: Path):
    cfg = tmp_path / "ddb-s3.toml"
    cfg.write_text("[default]\nwrite_percent = 0.3\nconcurency = 4\n")
    with pytest.raises(BadInput, match=r"unknown option\(s\) concurency$"):
        ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/x"}, config_path=cfg, environ={})


def test_a_bad_value_is_named_where_it_was_set(tmp_path: Path):
    """Issue 24: a bad value from a DDB_S3_* variable or the config file was named by its flag, which
    the user never typed."""
    cfg = tmp_path / "ddb-s3.toml"
    cfg.write_text("[default]\nread_percent = 7\n")
    request = {"table": "LabResults", "to": "s3://lab-backups/x"}
    with pytest.raises(BadInput, match=rf"^read_percent in {cfg}: must be a fraction .* \(got 7\)$"):
        ExportRequest.build(request, config_path=cfg, environ={})
    with pytest.raises(BadInput, match=r"^DDB_S3_READ_PERCENT: must be a fraction .* \(got '5'\)$"):
        ExportRequest.build(request, config_path=cfg, environ={"DDB_S3_READ_PERCENT": "5"})
    with pytest.raises(BadInput, match=r"^--read-percent: must be a fraction .* \(got 9.0\)$"):
        ExportRequest.build(dict(request, read_percent=9.0), config_path=cfg, environ={"DDB_S3_READ_PERCENT": "5"})


def test_an_unknown_section_is_refused_not_dropped(tmp_path: Path):
    cfg = tmp_path / "ddb-s3.toml"
    cfg.write_text("[defaults]\nread_percent = 0.25\n")  # a typo of [default]: its options were dropped without a word
    with pytest.raises(BadInput, match=r"unknown section\(s\) \[defaults\]; it takes \[default\] and \[profiles.NAME\]$"):
        ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/x"}, config_path=cfg, environ={})


@pytest.mark.parametrize(
    "family, flags, message",
    [
        (
            RestoreOptions,
            {"table": "Target", "write_percent": 2},
            "--write-percent: must be a fraction of the capacity in (0, 1.5]: 0.05 is 5%, 1 is 100% (did you mean 0.02?) (got 2)",
        ),
        (RestoreOptions, {"table": "Target", "on_demand_write_units": 0}, "--on-demand-write-units: must be at least 1"),
        (DownloadOptions, {"concurrency": 0}, "--concurrency: must be at least 1"),
        (ConvertOptions, {"format": "xml", "out": "x"}, "--format: Input should be 'jsonl', 'csv' or 'parquet'"),
        (VerifyOptions, {"expected_bucket_owner": "12"}, "--expected-bucket-owner: must be a 12-digit AWS account id"),
    ],
)
def test_bad_values_are_one_line(family, flags, message):
    with pytest.raises(BadInput) as e:
        family.build(flags, environ={})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_every_command_has_the_shared_flags_and_its_family_s_own():
    runner = CliRunner()
    for command, family in (
        ("export", ExportRequest),
        ("verify", VerifyOptions),
        ("download", DownloadOptions),
        ("restore", RestoreOptions),
        ("convert", ConvertOptions),
    ):
        text = runner.invoke(cli, [command, "--help"], terminal_width=200).output
        for name in ["region", "expected_bucket_owner", *family.model_fields]:
            assert "--" + name.replace("_", "-") in text, (command, name)
        assert "--config" in text and "--profile" in text
    assert "--verify / --no-verify" in runner.invoke(cli, ["restore", "--help"], terminal_width=200).output


@pytest.mark.parametrize(
    "runner, flags, message",
    [
        ("emr", {"glue_job": "nightly"}, "--glue-job is for --runner glue, not emr"),
        ("glue", {"core_nodes": 4}, "--core-nodes is for --runner emr, not glue"),
        ("glue", {"log_uri": "s3://lab-logs/emr/"}, "--log-uri is for --runner emr or emr-serverless, not glue"),
        ("emr-serverless", {"keep": True}, "--keep is for --runner glue, not emr-serverless"),
        ("emr", {"workers": 4}, "--workers is for --runner emr-serverless or glue, not emr"),
    ],
)
def test_an_option_of_another_cloud_runner_is_refused_not_ignored(runner, flags, message):
    with pytest.raises(BadInput, match=message):
        ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/p", "runner": runner, **flags}, environ={})


def test_an_option_of_the_runner_itself_and_emr_options_for_render_are_kept():
    assert ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/p", "runner": "glue", "workers": 4}, environ={}).workers == 4
    # runner local (the default) keeps the EMR settings: `render` shows a local request's EMR steps
    assert ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/p", "core_nodes": 5}, environ={}).core_nodes == 5


def test_times_and_hive_columns_are_parsed_once_into_their_types():
    from datetime import datetime

    from launcher.core.hive_columns import HiveColumn

    request = ExportRequest.build(
        {
            "table": "LabResults",
            "to": "s3://lab-backups/p",
            "engine": "native",
            "export_from": "2024-05-27T06:00:00",
            "export_to": "2024-05-27T07:00:00Z",
        },
        environ={},
    )
    assert request.export_from == datetime(2024, 5, 27, 6, tzinfo=UTC)  # no zone: UTC
    assert request.export_to == datetime(2024, 5, 27, 7, tzinfo=UTC)
    hive = ExportRequest.build(
        {"table": "LabResults", "to": "s3://lab-backups/p", "engine": "hive", "runner": "emr", "hive_columns": "pk:string,n:bigint"},
        environ={},
    )
    assert [type(c) for c in hive.hive_columns] == [HiveColumn, HiveColumn]
    assert [(c.attribute, c.hive_type) for c in hive.hive_columns] == [("pk", "string"), ("n", "bigint")]


ROLE_ARN = "arn:aws:iam::123456789012:role/service-role/"


@pytest.mark.parametrize(
    "flags",
    [
        {"service_role": ROLE_ARN + "EMR_DefaultRole"},
        {"instance_profile": "arn:aws:iam::123456789012:instance-profile/nodes/EMR_EC2_DefaultRole"},
        {"execution_role": ROLE_ARN + "AmazonEMR-ExecutionRole-1"},
        {"glue_role": ROLE_ARN + "AWSGlueServiceRole-x"},
    ],
)
def test_a_role_under_a_path_is_taken_as_its_arn(flags):
    """Issue 23: console-made roles live under /service-role/; every role option takes the full ARN."""
    request = ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/p", **flags}, environ={})
    assert request.model_dump()[next(iter(flags))] == next(iter(flags.values()))


@pytest.mark.parametrize(
    "flags, flag",
    [
        ({"service_role": "EMR Default Role"}, "--service-role"),
        ({"service_role": "arn:aws:iam::123456789012:role/"}, "--service-role"),
        ({"execution_role": "arn:aws:iam::123456789012:role//x"}, "--execution-role"),
        ({"glue_role": "arn:aws:iam::123456789012:role/service-role/"}, "--glue-role"),
        ({"instance_profile": "arn:aws:iam::123456789012:role/EMR_EC2_DefaultRole"}, "--instance-profile"),
    ],
)
def test_a_malformed_role_is_one_line_naming_its_flag(flags, flag):
    with pytest.raises(BadInput, match=flag) as e:
        ExportRequest.build({"table": "LabResults", "to": "s3://lab-backups/p", **flags}, environ={})
    assert "\n" not in str(e.value)
