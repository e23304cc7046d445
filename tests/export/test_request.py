"""The option table: layering (defaults < config file < environment < flags) and one-line errors."""

from pathlib import Path

import pytest

from launcher.core.errors import BadInput
from launcher.options import ExportRequest, build_request

pytestmark = pytest.mark.unit

BASE = {"table": "LabResults", "to": "s3://lab-backups/ddb"}


def test_defaults():
    r = build_request(BASE, environ={}, config_path=None)
    assert (r.engine, r.reader, r.read_percent, r.runner, r.cluster) == ("spark", "connector", 0.5, "local", "transient")


def test_layers_in_order(tmp_path: Path):
    cfg = tmp_path / "ddb-s3.toml"
    cfg.write_text(
        '[default]\nread_percent = 0.2\nreader = "segments"\ncore_nodes = 3\n'
        '[profiles.prod]\nread_percent = 0.3\ninstance_type = "m5.2xlarge"\n'
    )
    r = build_request(BASE, config_path=cfg, profile="prod", environ={"DDB_S3_READ_PERCENT": "0.4"})
    # env beats the profile, the profile beats [default], [default] beats the model default
    assert r.read_percent == 0.4
    assert r.instance_type == "m5.2xlarge"
    assert r.reader == "segments" and r.core_nodes == 3
    r = build_request(BASE | {"read_percent": 0.9}, config_path=cfg, profile="prod", environ={"DDB_S3_READ_PERCENT": "0.4"})
    assert r.read_percent == 0.9  # flags beat everything


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"read_percent": 0}, "--read-percent: must be a fraction of the capacity in (0, 1.5]"),
        ({"read_percent": 1.6}, "--read-percent: must be a fraction of the capacity in (0, 1.5]"),
        ({"engine": "pig"}, "--engine: Input should be 'spark', 'hive', 'native', 'python' or 'auto'"),
        ({"to": "http://x/y"}, "is not an s3:// URI"),
        ({"to": "s3://Bad_Bucket/x"}, "invalid bucket name"),
        ({"table": "a b"}, "--table: must be 3-255 characters"),
        ({"cluster": "cluster-1"}, "--cluster: must be 'transient' or a cluster id"),
        ({"consistent_read": True}, "--consistent-read needs --reader segments"),
        ({"segments": 0}, "--segments: must be between 1 and 1000000"),
    ],
)
def test_bad_values_give_one_line(flags, message):
    with pytest.raises(BadInput) as e:
        build_request(BASE | flags, environ={})
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_table():
    with pytest.raises(BadInput, match=r"^--table is required$"):
        build_request({"to": "s3://lab-backups/x"}, environ={})


def test_config_file_errors(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[default\n")
    with pytest.raises(BadInput, match="not valid TOML"):
        build_request(BASE, config_path=bad, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[default]\nread_precent = 0.3\n")
    with pytest.raises(BadInput, match="unknown option\\(s\\) read_precent"):
        build_request(BASE, config_path=unknown, environ={})
    with pytest.raises(BadInput, match="profile 'nope' not found"):
        build_request(BASE, config_path=unknown, profile="nope", environ={})
    with pytest.raises(BadInput, match="not found"):
        build_request(BASE, config_path=tmp_path / "missing.toml", environ={})


def test_every_field_has_help():
    assert all(f.description for f in ExportRequest.model_fields.values())


def test_read_percent_is_a_fraction_and_the_plan_says_so_and_its_rounding():
    """--read-percent follows the connector's dynamodb.throughput.read.percent: a fraction (issue 24.5).
    5 is refused with what 5% is; the plan says which capacity the budget is a share of, and a budget
    rounded up to the least a read takes is said, not hidden."""
    from helpers import plan_for, table_description
    from launcher.cli.export import budget_source

    with pytest.raises(BadInput, match=r"--read-percent: must be a fraction .*0.05 is 5%.*\(did you mean 0.05\?\)"):
        build_request({"table": "Lab", "to": "s3://lab-backups/x", "read_percent": 5}, environ={})
    plan = plan_for(table_description(read_units=10), read_percent=0.05)
    assert plan.read_units_per_second == 1
    assert budget_source(plan) == "--read-percent 0.05 = 5% of 10 RCU; 0.5 rounded up to the least a read takes"
    on_demand = plan_for(table_description(billing="PAY_PER_REQUEST"), read_percent=0.25, on_demand_read_units=1000)
    assert budget_source(on_demand) == "--read-percent 0.25 = 25% of 1,000 on-demand units (--on-demand-read-units)"


def test_an_on_demand_tables_warm_throughput_and_cap_bound_the_default_budget():
    """A new or just-switched on-demand table serves its warm throughput at once, not the connector's
    40000 (issue 23): DescribeTable's WarmThroughput and OnDemandThroughput bound the default; an
    explicit --on-demand-read-units is taken as asked."""
    from helpers import plan_for, table_description
    from launcher.cli.export import budget_source

    desc = table_description(billing="PAY_PER_REQUEST") | {"WarmThroughput": {"ReadUnitsPerSecond": 12000, "Status": "ACTIVE"}}
    plan = plan_for(desc)
    assert plan.read_capacity == 12000 and plan.read_units_per_second == 6000
    assert "12,000 units/s, the table's warm throughput" in budget_source(plan)
    capped = plan_for(desc | {"OnDemandThroughput": {"MaxReadRequestUnits": 800}})
    assert capped.read_units_per_second == 400 and "MaxReadRequestUnits" in budget_source(capped)
    assert plan_for(desc, on_demand_read_units=30000).read_units_per_second == 15000
    assert plan_for(table_description(billing="PAY_PER_REQUEST")).read_units_per_second == 20000  # nothing said: 40000
