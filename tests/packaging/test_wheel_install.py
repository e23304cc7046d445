"""`pip install ddb-s3` is enough (issue 15): the wheel, installed into fresh virtualenvs, runs an
export on the local stack

- "lowest" and "locked": with every dependency at the lower bound pyproject.toml declares (boto3 and
  its botocore, pydantic, jinja2, rich, click; pyspark and pyarrow of the extras), and at uv.lock's
  versions: export, verify, download, convert, restore into a new table, and that botocore's models
  accept the EMR and native export requests we build;
- "beside Airflow": into an environment that already has Apache Airflow at another version than
  uv.lock's (another patch of the locked minor, and the declared lower bound), `ddb-s3[airflow]`
  installs without changing Airflow (or anything not forced by boto3's own requirements), `uv pip
  check` is clean, its `ddb-s3 export` runs and verifies, and the operators work under that
  Airflow (a DAG of them; verify and restore run on the export).

The venvs are kept under .cache/packaging/, one per set of requirements (a hash of the wheel's
dependency metadata and what the test installs), so a re-run only reinstalls the wheel itself; a
clean clone builds them (uv's cache makes that quick; pyspark, a source-only package, is built once
into ~/.cache/ddb-s3/wheelhouse). The wheel is built once per run, with the project's own build
backend (hatchling; hatch_build.py adds the templates and the jars: the helper jar for EMR, the
connector and gson for the local runner), and its exports use the wheel's own jars.
- "python 3.12": the core wheel (no extras) on CPython 3.12, where one is installed: verify, download
  and restore of an export."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import boto3
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from helpers import REPO_ROOT, table_items, unique_name
from launcher.dev.sample_data import create_lab_table, lab_items, load_items
from launcher.export.run.jars import JARS_DIR_ENV

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
VENVS = REPO_ROOT / ".cache" / "packaging"
ITEMS = 300
VENV_LAYOUT = 2  # part of the venv cache key: raise it when what a cached venv holds changes
# Packages whose versions are the Airflow install itself: none of them may change.
AIRFLOW_PACKAGES = re.compile(r"^apache-airflow")


def say(msg: str) -> None:
    print(f"[packaging] {msg}", flush=True)


def uv_exe() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.fail("uv not found: `make venv` installs it (pip install uv==0.13.8)", pytrace=False)
    return found


def run(cmd: list[str], *, env: dict | None = None, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    shown = " ".join(str(c) for c in cmd)
    say(f"{shown[:160]}{'...' if len(shown) > 160 else ''}  ({time.monotonic() - t0:.1f}s, exit {proc.returncode})")
    if proc.returncode != 0:
        raise AssertionError(f"{shown} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def uv(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    # The machine's uv cache (not UV_OFFLINE: a clean machine downloads what it lacks), no project.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    return run([uv_exe(), *args], env=env, cwd=REPO_ROOT, timeout=timeout)


# --------------------------------------------------------------------------- declared bounds


def requirement(name: str, extra: str | None = None) -> Requirement:
    reqs = PYPROJECT["project"]["optional-dependencies"][extra] if extra else PYPROJECT["project"]["dependencies"]
    for r in map(Requirement, reqs):
        if r.name.lower() == name:
            return r
    raise KeyError(f"{name} is not a dependency{f' of the {extra} extra' if extra else ''} in pyproject.toml")


def lower_bound(req: Requirement) -> str:
    """The version of the one `>=` in a requirement (every dependency has one: a tested floor)."""
    floors = [s.version for s in req.specifier if s.operator == ">="]
    assert len(floors) == 1, f"{req} has no single >= lower bound"
    return floors[0]


def lowest_pins() -> dict[str, str]:
    """name -> exact lower bound, for every runtime dependency and the local and convert extras.
    botocore goes with boto3: boto3 1.X.N needs botocore 1.(X+3).N or newer, so its floor is that."""
    pins = {Requirement(r).name.lower(): lower_bound(Requirement(r)) for r in PYPROJECT["project"]["dependencies"]}
    for extra in ("local", "convert"):
        for r in PYPROJECT["project"]["optional-dependencies"][extra]:
            pins[Requirement(r).name.lower()] = lower_bound(Requirement(r))
    major, minor, patch = Version(pins["boto3"]).release
    pins["botocore"] = f"{major}.{minor + 3}.{patch}"
    return pins


def locked_version(name: str) -> str:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    return next(p["version"] for p in lock["package"] if p["name"] == name)


def airflow_beside() -> list[str]:
    """Another patch of the locked Airflow minor (the locked 3.3.2 -> 3.3.1), and the declared floor."""
    locked = Version(locked_version("apache-airflow"))
    major, minor, patch = locked.release
    other = f"{major}.{minor}.{patch - 1}" if patch > 0 else f"{major}.{minor}.{patch + 1}"
    floor = Version(lower_bound(requirement("apache-airflow", "airflow")))
    return [other, ".".join(map(str, (*floor.release, 0, 0)[:3]))]


# --------------------------------------------------------------------------- wheel and venvs


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built once, checked to carry the templates and the JVM helper jar."""
    out = tmp_path_factory.mktemp("wheel")
    uv("build", "--wheel", "--out-dir", str(out))
    (whl,) = out.glob("ddb_s3-*.whl")
    names = set(zipfile.ZipFile(whl).namelist())
    assert "launcher/_jars/ddb-s3-spark-helpers.jar" in names
    assert {"launcher/_jars/emr-dynamodb-hadoop-5.0.0.jar", "launcher/_jars/gson-2.8.9.jar"} <= names  # the local runner's
    assert not [n for n in names if "/jvm/" in n], "the Maven projects beside the templates are not package data"
    for template in (
        "launcher/_templates/spark/export_job.py.j2",
        "launcher/_templates/hive/settings.hql.j2",
        "launcher/_templates/bootstrap/install-connector.sh",
    ):
        assert template in names
    meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    declared = [Requirement(line.split(":", 1)[1]) for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert not [str(r) for r in declared if any(s.operator in ("==", "===") for s in r.specifier)], "an exact pin in the wheel"
    say(f"built {whl.name} ({whl.stat().st_size // 1024} KiB)")
    return whl


def requires_dist(whl: Path) -> str:
    z = zipfile.ZipFile(whl)
    meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    return "\n".join(sorted(line for line in meta.splitlines() if line.startswith(("Requires-Dist:", "Requires-Python:"))))


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def cached_venv(name: str, whl: Path, spec: list[str]) -> tuple[Path, bool]:
    """A venv under .cache/packaging keyed by the wheel's dependencies and `spec`; (path, fresh).
    Not ready (no .ready stamp: new, or a run broke off while building it): made anew."""
    base = sys.version_info[:2]
    key = hashlib.sha256(json.dumps([VENV_LAYOUT, requires_dist(whl), spec, base]).encode()).hexdigest()[:12]
    venv = VENVS / f"{name}-{key}"
    if (venv / ".ready").exists():
        say(f"reusing {venv.relative_to(REPO_ROOT)}")
        return venv, False
    shutil.rmtree(venv, ignore_errors=True)
    for stale in VENVS.glob(f"{name}-*"):  # older requirement sets of the same venv
        shutil.rmtree(stale, ignore_errors=True)
    VENVS.mkdir(parents=True, exist_ok=True)
    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    return venv, True


def pyspark_wheelhouse(version: str) -> list[str]:
    """uv arguments that find pyspark `version` as a wheel. PyPI has only pyspark's source
    distribution (317 MB), and uv here downloads and builds it again for every new venv (its cache
    keeps a new copy each time), so it is built once with pip into ~/.cache/ddb-s3/wheelhouse,
    beside the machine's other ddb-s3 caches (a clean clone on the same machine finds it)."""
    house = Path.home() / ".cache" / "ddb-s3" / "wheelhouse"
    if not list(house.glob(f"pyspark-{version}-*.whl")):
        pip = [shutil.which("python3") or sys.executable, "-m", "pip"]
        try:
            run([*pip, "wheel", "--quiet", "--no-deps", f"pyspark=={version}", "--wheel-dir", str(house)], timeout=900)
        except AssertionError as e:  # no pip: uv builds it per venv (slower)
            say(f"no pyspark wheel built ({str(e).splitlines()[0]}); uv builds it from source")
            return []
    return ["--find-links", str(house)]


def freeze(venv: Path) -> dict[str, str]:
    out = uv("pip", "freeze", "--python", str(venv_python(venv))).stdout
    pairs = (re.split(r"==| @ ", line, maxsplit=1) for line in out.splitlines() if line and not line.startswith("#"))
    return {n.lower(): v for n, v in pairs}


def in_venv(venv: Path, code: str) -> str:
    return run([str(venv_python(venv)), "-c", code], cwd=venv, env=cli_env()).stdout


def cli_env() -> dict[str, str]:
    """The test session's environment (the local stack's endpoints and fake credentials), without
    anything that would put the checkout's own `launcher` or its jars (`make jars`) on the path."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", JARS_DIR_ENV)}


def ddb_s3(venv: Path, *args: str, cwd: Path, terminal: bool = False) -> subprocess.CompletedProcess:
    """terminal: as on a terminal (rich's progress displays), through rich's FORCE_COLOR."""
    return run([str(venv / "bin" / "ddb-s3"), *args], env=cli_env() | ({"FORCE_COLOR": "1"} if terminal else {}), cwd=cwd)


def assert_from_venv(venv: Path) -> None:
    where = in_venv(venv, "import launcher; print(launcher.__file__)").strip()
    assert where.startswith(str(venv)), f"launcher imported from {where}, not the installed wheel"


# --------------------------------------------------------------------------- the local stack


@pytest.fixture(scope="module")
def source(local_stack):
    ddb = boto3.client("dynamodb")
    table = unique_name("pkg")
    create_lab_table(ddb, table)
    load_items(ddb, table, lab_items(ITEMS))
    bucket = unique_name("pkg-bucket")
    boto3.client("s3").create_bucket(Bucket=bucket)
    yield table, bucket, table_items(ddb, table)
    ddb.delete_table(TableName=table)


@pytest.fixture(scope="module")
def locked_export(source, tmp_path_factory) -> str:
    """An export of `source` written by the locked environment this suite runs in (the checkout's
    venv: uv.lock's versions), for a test whose installed wheel can read one but not write one."""
    table, bucket, _ = source
    work = tmp_path_factory.mktemp("locked-export")
    proc = run(
        [
            str(Path(sys.executable).parent / "ddb-s3"),
            "export",
            "--table",
            table,
            "--to",
            f"s3://{bucket}/locked-export",
            "--runner",
            "local",
            "--reader",
            "segments",
            "--json",
            "--work-dir",
            str(work / "runs"),
        ],
        cwd=work,
    )
    result = json.loads(proc.stdout)
    assert result["itemCount"] == ITEMS
    return result["exportUri"]


def export_and_verify(venv: Path, table: str, bucket: str, prefix: str, workdir: Path, *extra: str, terminal: bool = False) -> dict:
    proc = ddb_s3(
        venv,
        "export",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/{prefix}",
        "--runner",
        "local",
        "--json",
        *extra,
        cwd=workdir,
        terminal=terminal,
    )
    result = json.loads(proc.stdout)
    assert result["itemCount"] == ITEMS
    verified = ddb_s3(venv, "verify", result["exportUri"], "--deep", "--json", cwd=workdir)
    say(f"verify --deep: {verified.stdout.strip()[:200]}")
    return result


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("versions", ["lowest", "locked"])
def test_dependencies_at_their_lowest_and_locked_versions(versions, wheel, source, tmp_path):
    """lowest: every declared lower bound; locked: uv.lock's versions (what the rest of the suite
    runs on, now through the installed wheel)."""
    table, bucket, items = source
    floors = lowest_pins()
    constraints = tmp_path / f"{versions}.txt"
    if versions == "lowest":
        pins = floors
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    else:
        pins = {name: locked_version(name) for name in floors}
        exported = uv("export", "--frozen", "--no-hashes", "--no-dev", "--no-emit-project", "--extra", "local", "--extra", "convert")
        constraints.write_text(exported.stdout)
    say(f"{versions}: " + ", ".join(f"{n}=={v}" for n, v in sorted(pins.items())))
    venv, fresh = cached_venv(versions, wheel, [constraints.read_text()])
    target = f"{wheel}[local,convert]"
    if fresh:
        uv(
            "pip",
            "install",
            "--python",
            str(venv_python(venv)),
            "--constraint",
            str(constraints),
            *pyspark_wheelhouse(pins["pyspark"]),
            target,
        )
        (venv / ".ready").touch()
    uv("pip", "install", "--python", str(venv_python(venv)), "--no-deps", "--reinstall-package", "ddb-s3", target)
    uv("pip", "check", "--python", str(venv_python(venv)))
    installed = freeze(venv)
    for name, version in pins.items():
        assert Version(installed[name]) == Version(version), f"{name} {installed[name]} installed, {versions} is {version}"
    assert_from_venv(venv)
    jars = in_venv(venv, "from launcher.export.run.jars import default_jars_dir; print(default_jars_dir())").strip()
    assert jars.startswith(str(venv)), f"the local runner's jars come from {jars}, not the wheel"

    # Export with the segments reader: that boto3 also scans inside the Spark tasks. Export,
    # download and restore as on a terminal, so that rich draws their progress displays.
    result = export_and_verify(venv, table, bucket, versions, tmp_path, "--reader", "segments", "--segments", "2", terminal=True)
    uri = result["exportUri"]
    downloaded = ddb_s3(venv, "download", uri, str(tmp_path / "backup"), "--json", cwd=tmp_path, terminal=True)
    assert "━" in downloaded.stderr  # rich's bar was drawn
    ddb_s3(venv, "convert", str(tmp_path / "backup"), "--format", "parquet", "--out", str(tmp_path / "lab.parquet"), cwd=tmp_path)
    rows = in_venv(venv, f"import pyarrow.parquet as pq; print(pq.read_metadata({str(tmp_path / 'lab.parquet')!r}).num_rows)")
    assert int(rows) == ITEMS
    restored = unique_name("pkg-restored")
    try:
        ddb_s3(venv, "restore", uri, "--table", restored, "--create-table", "--json", cwd=tmp_path, terminal=True)
        assert table_items(boto3.client("dynamodb"), restored) == items
    finally:
        boto3.client("dynamodb").delete_table(TableName=restored)

    # The requests only a real account serves (EMR's RunJobFlow and steps, a native incremental
    # export) pass this botocore's own parameter validation.
    out = tmp_path / "render"
    ddb_s3(
        venv,
        "render",
        "--table",
        table,
        "--to",
        f"s3://{bucket}/emr",
        "--runner",
        "emr",
        "--cluster",
        "transient",
        "--log-uri",
        f"s3://{bucket}/logs/",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    checked = in_venv(venv, VALIDATE.replace("RENDERED", repr(str(out))))
    say(checked.strip())


VALIDATE = """
import json, pathlib, botocore, botocore.session
from botocore.validate import validate_parameters
from datetime import datetime, timedelta, timezone
from launcher.export.run.native import export_request
from launcher.export.plan import ExportPlan
s = botocore.session.get_session()
def check(service, op, params):
    validate_parameters(params, s.get_service_model(service).operation_model(op).input_shape)
    print(f"botocore {botocore.__version__}: {service} {op} accepted")
out = pathlib.Path(RENDERED)
flow = json.loads((out / "run-job-flow.json").read_text())
check("emr", "RunJobFlow", flow)
steps = json.loads((out / "steps.json").read_text())
check("emr", "AddJobFlowSteps", {"JobFlowId": "j-1ABCDEF", "Steps": steps})
# The native engine's requests (full, and incremental: ExportType, IncrementalExportSpecification),
# built from the rendered plan: the local DynamoDB has no point-in-time recovery to plan one for.
plan = ExportPlan.model_validate_json((out / "plan.json").read_text())
now = datetime.now(timezone.utc)
check("dynamodb", "ExportTableToPointInTime", export_request(plan))
check("dynamodb", "ExportTableToPointInTime", export_request(plan.model_copy(update={"export_from": now - timedelta(hours=2), "export_to": now})))
"""


def python312() -> str | None:
    found = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    return str(found[-1]) if found else shutil.which("python3.12")


def test_the_core_wheel_on_python_3_12(wheel, source, locked_export, tmp_path):
    """requires-python is >=3.11: the commands that need no extra, on 3.12 (pyenv's, or python3.12 on
    PATH), on an export the locked environment wrote (locked_export: the core wheel has no Spark)."""
    interpreter = python312()
    if interpreter is None:
        pytest.skip("no CPython 3.12 here (pyenv install 3.12): the 3.12 check needs one")
    _table, _bucket, items = source
    venv = VENVS / "py312"
    shutil.rmtree(venv, ignore_errors=True)
    uv("venv", "--quiet", "--python", interpreter, str(venv))
    uv("pip", "install", "--python", str(venv_python(venv)), str(wheel))
    uv("pip", "check", "--python", str(venv_python(venv)))
    assert in_venv(venv, "import sys; print(sys.version_info[:2])").strip() == "(3, 12)"
    assert_from_venv(venv)
    uri = locked_export
    assert json.loads(ddb_s3(venv, "verify", uri, "--json", cwd=tmp_path).stdout)["itemCount"] == ITEMS
    ddb_s3(venv, "download", uri, str(tmp_path / "backup"), cwd=tmp_path)
    restored = unique_name("pkg312")
    try:
        ddb_s3(venv, "restore", str(tmp_path / "backup"), "--table", restored, "--create-table", cwd=tmp_path)
        assert table_items(boto3.client("dynamodb"), restored) == items
    finally:
        boto3.client("dynamodb").delete_table(TableName=restored)


@pytest.mark.parametrize("airflow", airflow_beside())
def test_beside_an_existing_airflow(wheel, source, tmp_path, airflow):
    table, bucket, items = source
    assert airflow != locked_version("apache-airflow")
    venv, fresh = cached_venv(f"airflow-{airflow}", wheel, [f"apache-airflow=={airflow}"])
    py = str(venv_python(venv))
    existing = venv / "existing.json"  # the environment before ddb-s3 came: what a re-run compares with
    if fresh:
        say(f"the existing environment: apache-airflow=={airflow} (as its users install it)")
        uv("pip", "install", "--python", py, f"apache-airflow=={airflow}")
        existing.write_text(json.dumps(freeze(venv), indent=1))
        (venv / ".ready").touch()
    before = json.loads(existing.read_text())
    assert before["apache-airflow"] == airflow
    # As a user adds us: the whole requirement set resolved against what is there (not --no-deps).
    # pyspark (ours, not Airflow's concern) at uv.lock's version, from the wheelhouse.
    spark = locked_version("pyspark")
    constraint = tmp_path / "pyspark.txt"
    constraint.write_text(f"pyspark=={spark}\n")
    uv(
        "pip",
        "install",
        "--python",
        py,
        "--reinstall-package",
        "ddb-s3",
        "--constraint",
        str(constraint),
        *pyspark_wheelhouse(spark),
        f"{wheel}[airflow,local]",
    )
    after = freeze(venv)
    uv("pip", "check", "--python", py)
    changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
    say(f"changed by installing ddb-s3[airflow,local]: {changed or 'nothing'}; added: {sorted(set(after) - set(before) - {'ddb-s3'})}")
    assert not {n for n in changed if AIRFLOW_PACKAGES.match(n)}, f"the Airflow install changed: {changed}"
    # Anything else that moved must be forced by boto3's own requirements (botocore caps
    # python-dateutil below 3), which every boto3 user's environment has, not by ours.
    forced = set(in_venv(venv, BOTO_REQUIREMENTS).split())
    assert set(changed) <= forced, f"installing ddb-s3 changed {changed}; boto3's own requirements: {sorted(forced)}"
    assert_from_venv(venv)

    result = export_and_verify(venv, table, bucket, f"airflow-{airflow}", tmp_path, "--reader", "connector")
    # The operators under this Airflow: a DAG of the three, the trigger's serialization round
    # trip, and the verify and restore operators run on that export (outside a DAG run).
    restored = unique_name("pkg-airflow")
    env = cli_env() | {"AIRFLOW_HOME": str(tmp_path / "airflow-home")}
    try:
        proc = run([str(venv_python(venv)), "-c", OPERATORS, result["exportUri"], table, restored], env=env, cwd=tmp_path)
        say(proc.stdout.strip())
        assert table_items(boto3.client("dynamodb"), restored) == items
    finally:
        try:
            boto3.client("dynamodb").delete_table(TableName=restored)
        except boto3.client("dynamodb").exceptions.ResourceNotFoundException:
            pass


OPERATORS = """
import importlib, sys
from datetime import datetime
from airflow.sdk import DAG
from launcher.airflow import DdbS3ExportOperator, DdbS3RestoreOperator, DdbS3VerifyOperator
from launcher.airflow.triggers import DdbS3RunTrigger
uri, table, restored = sys.argv[1:4]
with DAG("ddb_s3_packaging", schedule=None, start_date=datetime(2026, 1, 1)):
    export = DdbS3ExportOperator(task_id="export", table=table, to="s3://unused/x")
    verify = DdbS3VerifyOperator(task_id="verify", export_uri=uri)
    restore = DdbS3RestoreOperator(task_id="restore", export_uri=uri, table=restored, options={"create_table": True})
    export >> verify >> restore
path, kwargs = DdbS3RunTrigger(plan={"export_id": "x"}, handle={"resource": "j-1", "runs": ["s-1"], "created": True}).serialize()
module, _, name = path.rpartition(".")
assert getattr(importlib.import_module(module), name)(**kwargs).serialize() == (path, kwargs)
print("verify operator:", verify.execute({}))
print("restore operator:", restore.execute({}))
"""


BOTO_REQUIREMENTS = """
import re
from importlib.metadata import requires
names = set()
for dist in ("boto3", "botocore", "s3transfer"):
    names |= {re.split(r"[ ;<>=!~\\[(]", r, maxsplit=1)[0].lower() for r in requires(dist) or [] if "extra ==" not in r}
print(" ".join(sorted(names)))
"""
