"""Where ddb-s3 keeps files of its own on the user's machine: the XDG cache folder, never the folder
the user happens to stand in; each place can be moved with its own variable."""

from __future__ import annotations

import os
from pathlib import Path

RUNS_DIR_ENV = "DDB_S3_WORK_DIR"
LOCAL_STACK_DIR_ENV = "DDB_S3_LOCAL_DIR"
RESTORES_DIR_ENV = "DDB_S3_RESTORE_DIR"  # restore checkpoints kept without --checkpoint


def user_cache(name: str, override_env: str) -> Path:
    """$<override_env>, else $XDG_CACHE_HOME/ddb-s3/<name>, else ~/.cache/ddb-s3/<name>."""
    if override := os.environ.get(override_env):
        return Path(override).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ddb-s3" / name


def runs_dir() -> Path:
    """The local runner's artifacts and step logs, one folder an export id."""
    return user_cache("runs", RUNS_DIR_ENV)
