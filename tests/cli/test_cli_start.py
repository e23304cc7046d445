"""A fast CLI start (issue 26.2): each command imports what it runs, when it runs it. `--help` (the
group's and a command's) loads no AWS SDK, Jinja2, rich, pyspark, pyarrow or Airflow; verify and
`exports list` load no pyspark, pyarrow, Jinja2 or Airflow, and only the service models they call.
Each case is a fresh interpreter, as a user's shell starts one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import NATIVE, unique_name

PROBE = r"""
import json, sys
import botocore.loaders as _l  # imported here only to watch which service models get loaded
models = []
_orig = _l.Loader.load_service_model
def _watch(self, service_name, type_name, api_version=None):
    if type_name == "service-2":
        models.append(service_name)
    return _orig(self, service_name, type_name, api_version)
_l.Loader.load_service_model = _watch
from launcher.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
else:
    code = 0
def _models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _models(sub)
built = []
if "pydantic" in sys.modules:  # our models whose validators were built (defer_build: only when first used)
    built = sorted({c.__name__ for c in _models(sys.modules["pydantic"].BaseModel)
                    if c.__module__.startswith("launcher") and c.__pydantic_complete__})
print("PROBE " + json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules}), "models": models,
                             "built": built}))
"""
HEAVY = {"pyspark", "pyarrow", "jinja2", "airflow"}
SDK = {"boto3", "s3transfer", "rich"}  # botocore is loaded by the probe itself: its models are watched instead


def probe(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE ")), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(line.removeprefix("PROBE "))


@pytest.mark.unit
@pytest.mark.parametrize(
    "args",
    [["--help"], ["export", "--help"], ["verify", "--help"], ["restore", "--help"], ["clusters", "list", "--help"], ["doctor", "--help"]],
)
def test_help_imports_no_sdk_and_no_engine(args):
    got = probe(*args)
    assert got["code"] == 0
    assert not (HEAVY | SDK) & set(got["modules"]), sorted((HEAVY | SDK) & set(got["modules"]))
    assert got["models"] == []
    # Building the option and plan models' validators at import was a fifth of --help's time
    # (157 -> 130 ms, best of 10, against 124 ms for `python -c "import boto3"`): they are built on first use.
    assert got["built"] == []


@pytest.mark.integration
def test_verify_and_exports_list_load_only_what_they_call(local_stack, s3):
    local = probe("verify", str(NATIVE))
    assert local["code"] == 0 and not HEAVY & set(local["modules"]) and local["models"] == []  # a folder: no AWS at all
    bucket = unique_name("start").lower()
    s3.create_bucket(Bucket=bucket)
    listed = probe("exports", "list", f"s3://{bucket}/ddb", "--json")
    assert listed["code"] == 0, listed
    assert not HEAVY & set(listed["modules"]), sorted(HEAVY & set(listed["modules"]))
    assert set(listed["models"]) == {"s3"}, listed["models"]


INTERRUPT_AT_IMPORT = """
import sys

class CtrlC:  # Ctrl-C as the console script loads the command's modules: raised when click is imported
    def find_spec(self, name, path=None, target=None):
        if name == "click":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.unit
def test_ctrl_c_while_the_command_loads_is_one_line_and_exit_130(tmp_path):
    """Issue 24: before the command runs, an interrupt gave a traceback from the console script."""
    (tmp_path / "sitecustomize.py").write_text(INTERRUPT_AT_IMPORT)
    script = os.path.join(os.path.dirname(sys.executable), "ddb-s3")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120, env=env)
    assert (proc.returncode, proc.stderr, proc.stdout) == (130, "ddb-s3: interrupted\n", "")


@pytest.mark.unit
def test_the_installed_packages_and_the_launcher_carry_their_bytecode():
    """`make setup` compiles once (uv sync --compile-bytecode, compileall launcher). Without it, and
    with PYTHONDONTWRITEBYTECODE set as on this machine, every process compiled boto3 and the CLI from
    source again: 0.60 CPU s to import them against 0.21 s (issue 26)."""
    import importlib.util

    import boto3
    import botocore.session
    import click

    import launcher.cli.app

    modules = [boto3, botocore.session, click, launcher.cli.app]
    missing = [m.__name__ for m in modules if not os.path.exists(importlib.util.cache_from_source(m.__file__))]
    assert not missing, f"no bytecode for {missing}: run `make setup` (it compiles the venv and launcher/)"
