"""The local stack leaves nothing behind (issue 24.9): the local EMR's folder it made in /tmp (nodes,
step logs, fetched artifacts) is gone once the stack stops, as `ddb-s3 local down` stops it."""

from __future__ import annotations

import pytest

from launcher.dev.localstack import LocalStack

pytestmark = pytest.mark.integration


def test_stopping_the_stack_removes_the_local_emr_folder_it_made():
    stack = LocalStack.start(emr=True)
    try:
        work = stack.temp_work
        assert work is not None and work.is_dir() and work.name.startswith("ddb-s3-local-emr-")
    finally:
        stack.stop()
    assert not work.exists()
    stack.stop()  # idempotent: nothing left to remove
