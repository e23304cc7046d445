"""The local runner's files go to the user's cache folder, never the working directory (issue 15)."""

import pytest

from launcher.core.paths import RUNS_DIR_ENV, runs_dir

pytestmark = pytest.mark.unit


def test_runs_dir_follows_xdg_and_its_override(monkeypatch, tmp_path):
    monkeypatch.delenv(RUNS_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert runs_dir() == tmp_path / "xdg" / "ddb-s3" / "runs"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert runs_dir() == tmp_path / "home" / ".cache" / "ddb-s3" / "runs"
    monkeypatch.setenv(RUNS_DIR_ENV, "~/elsewhere")
    assert runs_dir() == tmp_path / "home" / "elsewhere"
