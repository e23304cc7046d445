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
        ({"read_percent": 0}, "--read-percent: must be in (0, 1.5]"),
        ({"read_percent": 1.6}, "--read-percent: must be in (0, 1.5]"),
        ({"engine": "pig"}, "--engine: Input should be 'spark', 'hive', 'native' or 'auto'"),
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
