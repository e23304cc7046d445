"""What ships to EMR (launcher/core and launcher/job, whole, in the job zip) imports under Python 3.9,
the PySpark Python of EMR 7 nodes: every module, in the node Python that `make py39` builds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from launcher.dev.localstack import REPO_ROOT, local_emr_python

pytestmark = pytest.mark.unit
SHIPPED = sorted(
    ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
    for folder in ("core", "job")
    for p in (REPO_ROOT / "launcher" / folder).rglob("*.py")
)


def test_the_node_python_is_3_9():
    out = subprocess.run(
        [local_emr_python(REPO_ROOT), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "(3, 9)"


def test_every_shipped_module_imports_under_python_3_9():
    assert "launcher.core.codec" in SHIPPED and "launcher.job.scan" in SHIPPED
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    proc = subprocess.run(
        [local_emr_python(REPO_ROOT), "-W", "ignore", "-c", code, *SHIPPED],
        capture_output=True,
        text=True,
        cwd=Path(REPO_ROOT),
        env={"PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
