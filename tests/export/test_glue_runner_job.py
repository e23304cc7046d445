"""The Glue runner on a job of the user's (--glue-job), against a recording hook: GetJob, UpdateJob
with their job and ours on top, the run, then UpdateJob putting their job back as GetJob gave it, on
every way out (issue 23). The same on the local stack: tests/e2e/test_local_glue.py."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from test_glue_request import USER_JOB, plan

from launcher.core.errors import DdbS3Error
from launcher.export.render import glue, render_export
from launcher.export.run.glue import GlueRunner

pytestmark = pytest.mark.unit


class Recorder:
    """GlueJobHook's calls the runner makes, recorded; `refuse` names calls that fail as Glue's refusals do."""

    def __init__(self, job: dict[str, Any], refuse: tuple[str, ...] = ()) -> None:
        self.job, self.refuse = job, refuse
        self.calls: list[tuple[str, Any]] = []
        self.artifacts = self

    def _call(self, name: str, arg: Any) -> None:
        self.calls.append((name, copy.deepcopy(arg)))
        if name in self.refuse:
            raise DdbS3Error(f"{name} failed: AccessDeniedException: no")

    def upload(self, root: str, files: dict, local_files: dict) -> list[str]:
        return [f"{root}/{n}" for n in (*files, *local_files)]

    def get_job(self, name: str) -> dict[str, Any]:
        self._call("GetJob", name)
        return copy.deepcopy(self.job)

    def update_job(self, request: dict[str, Any]) -> None:
        self._call("UpdateJob", request)

    def start_job_run(self, request: dict[str, Any]) -> str:
        self._call("StartJobRun", request)
        return "jr_1"

    def get_job_run(self, name: str, run_id: str) -> dict[str, Any]:
        return {"Id": run_id, "JobRunState": "SUCCEEDED"}

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def runner(hook: Recorder, lines: list[str]) -> GlueRunner:
    return GlueRunner(progress=lines.append, hook=hook, poll_seconds=0, install_signal_handlers=False, settle_seconds=0)


def test_the_users_job_is_updated_with_its_own_settings_run_and_put_back():
    p = plan(glue_job="team-export", workers=3)
    hook, lines = Recorder(USER_JOB), []
    result = runner(hook, lines).run(p)
    assert result.cluster_id == "team-export/jr_1"
    assert hook.names() == ["GetJob", "UpdateJob", "StartJobRun", "UpdateJob"]
    ours = render_export(p, glue.target(p.artifacts_uri)).glue_job["JobUpdate"]
    assert hook.calls[1][1] == {"JobName": "team-export", "JobUpdate": glue.job_update(USER_JOB, ours)}
    during = hook.calls[1][1]["JobUpdate"]
    assert during["Connections"] == USER_JOB["Connections"] and during["DefaultArguments"]["--TempDir"] == "s3://team-tmp/glue/"
    assert hook.calls[3][1] == {"JobName": "team-export", "JobUpdate": glue.as_job_update(USER_JOB)}
    assert "put Glue job team-export back as it was before the run (the export finished)" in lines


def test_a_refused_start_puts_the_job_back_and_a_refused_update_changes_nothing():
    p = plan(glue_job="team-export")
    hook, lines = Recorder(USER_JOB, refuse=("StartJobRun",)), []
    with pytest.raises(DdbS3Error, match="StartJobRun failed"), runner(hook, lines) as r:
        r.submit(p)
    assert hook.names() == ["GetJob", "UpdateJob", "StartJobRun", "UpdateJob"]
    assert hook.calls[-1][1]["JobUpdate"] == glue.as_job_update(USER_JOB)
    hook, lines = Recorder(USER_JOB, refuse=("UpdateJob",)), []
    with pytest.raises(DdbS3Error, match="UpdateJob failed"), runner(hook, lines) as r:
        r.submit(p)
    assert hook.names() == ["GetJob", "UpdateJob"]  # Glue refused it: the job is as it was, nothing to put back
    assert not any("back as it was" in line for line in lines)


def test_a_refused_restore_prints_the_definition_to_put_back():
    p = plan(glue_job="team-export")

    class RestoreRefused(Recorder):
        def update_job(self, request: dict[str, Any]) -> None:
            self.calls.append(("UpdateJob", request))
            if request["JobUpdate"] == glue.as_job_update(USER_JOB):
                raise DdbS3Error("UpdateJob team-export failed: AccessDeniedException: no")

    hook, lines = RestoreRefused(USER_JOB), []
    runner(hook, lines).run(p)
    (line,) = [line for line in lines if "could not put Glue job team-export back" in line]
    assert json.loads(line.split("'<this JSON>'): ", 1)[1]) == glue.as_job_update(USER_JOB)


def test_an_adopted_run_of_the_users_job_says_the_job_still_holds_the_export():
    """Airflow's deferred task: the teardown runs in a process that never saw GetJob's answer."""
    from launcher.export.run import Handle

    p = plan(glue_job="team-export")
    hook, lines = Recorder(USER_JOB), []
    runner(hook, lines).release(p, Handle("team-export", ("jr_1",), created=False), "the deferred task was killed")
    assert hook.names() == []
    assert any(line.startswith("Glue job team-export still holds this export's definition") for line in lines), lines
