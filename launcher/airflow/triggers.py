"""DdbS3RunTrigger: waits for a ddb-s3 export's run in the triggerer, so a deferred
DdbS3ExportOperator holds no worker slot while it runs, whichever the runner (emr, emr-serverless,
glue).

It rebuilds the plan's runner (launcher.export.flow.make_runner) with the task's connection and
calls its `poll` (boto3, in a thread) under the one wait's rules (launcher.core.wait.Wait: a line
on each change, the deadline), then fires one event with the plan and the handle; the operator's
`execute_complete` reports a failure with its cause, verifies the export and ends what the task
created. If a user kills the deferred task (mark failed / clear), the trigger's `on_kill` has the
runner release what the task created."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from launcher.airflow.connection import aget_aws


class DdbS3RunTrigger(BaseTrigger):
    """
    :param plan: the export plan (ExportPlan, as JSON)
    :param handle: what the task submitted (launcher.export.run.Handle, as JSON)
    :param aws_conn_id: Airflow connection for AWS (None: the triggerer's environment)
    :param poll_seconds: between polls
    :param deadline: epoch seconds after which the wait gives up (None: no limit)
    :param since: epoch seconds when the task started the run (the result's duration counts from it)
    """

    def __init__(
        self,
        plan: dict[str, Any],
        handle: dict[str, Any],
        aws_conn_id: str | None = None,
        poll_seconds: float = 30.0,
        deadline: float | None = None,
        since: float | None = None,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.handle = handle
        self.aws_conn_id = aws_conn_id
        self.poll_seconds = poll_seconds
        self.deadline = deadline
        self.since = since

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "plan": self.plan,
                "handle": self.handle,
                "aws_conn_id": self.aws_conn_id,
                "poll_seconds": self.poll_seconds,
                "deadline": self.deadline,
                "since": self.since,
            },
        )

    async def _runner(self) -> Any:
        from launcher.export.flow import make_runner
        from launcher.export.plan import ExportPlan
        from launcher.export.run import Handle

        plan = ExportPlan.model_validate(self.plan)
        aws = await aget_aws(self.aws_conn_id, plan.region)
        runner = make_runner(plan, aws, self.log.info, install_signal_handlers=False)
        return plan, Handle.of(self.handle), runner

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from launcher.core.wait import Wait, WaitTimeout

        # The plan and the handle go back to the task in the event (dag.test() passes only the event on).
        base = {"plan": self.plan, "handle": self.handle, "since": self.since}
        where = self.handle.get("resource")
        try:
            plan, handle, runner = await self._runner()
            now = time.time()
            wait: Wait[Any] = Wait(
                lambda status: status.done,
                every=self.poll_seconds,
                start=now,
                timeout=None if self.deadline is None else max(0.0, self.deadline - now),
                what=f"{plan.runner} run on {where} (max_wait_seconds)",
                describe=lambda status: status.line,
                say=self.log.info,
            )
            while True:
                status = await asyncio.to_thread(runner.poll, plan, handle)
                pause = wait.seen(status, time.time())
                if pause is None:
                    yield TriggerEvent({**base, "status": "done", "line": status.line})
                    return
                await asyncio.sleep(pause)
        except WaitTimeout as e:
            yield TriggerEvent({**base, "status": "timeout", "message": str(e)})
        except Exception as e:  # noqa: BLE001 - the task fails with it (and ends what it created)
            yield TriggerEvent({**base, "status": "error", "message": f"waiting for {where}: {type(e).__name__}: {e}"})

    async def on_kill(self) -> None:
        plan, handle, runner = await self._runner()
        await asyncio.to_thread(runner.release, plan, handle, "the deferred task was killed")
