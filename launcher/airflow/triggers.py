"""DdbS3StepTrigger: waits for a ddb-s3 export's EMR steps in the triggerer, so a deferred
DdbS3ExportOperator holds no worker slot while the cluster runs.

It polls DescribeCluster + DescribeStep (boto3, in a thread) with StepWaiter's rules
(launcher.export.run.emr.steps_done) and fires one event with the final states; the operator's
`execute_complete` then reports a failure with its cause, verifies the export and terminates the
cluster it started. If a user kills the deferred task (mark failed / clear), the trigger's
`on_kill` terminates a cluster the task started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from launcher.airflow.connection import aget_aws


class DdbS3StepTrigger(BaseTrigger):
    """
    :param cluster_id: the EMR cluster
    :param step_ids: the export's steps on it
    :param region: the plan's region
    :param aws_conn_id: Airflow connection for AWS (None: the triggerer's environment)
    :param poll_seconds: between polls
    :param deadline: epoch seconds after which the wait gives up (None: no limit)
    :param started: the task started this cluster (then `on_kill` terminates it)
    :param resume: what the task needs when it resumes (the plan), sent back in the event
    """

    def __init__(
        self,
        cluster_id: str,
        step_ids: list[str],
        region: str | None = None,
        aws_conn_id: str | None = None,
        poll_seconds: float = 30.0,
        deadline: float | None = None,
        started: bool = False,
        resume: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.step_ids = list(step_ids)
        self.region = region
        self.aws_conn_id = aws_conn_id
        self.poll_seconds = poll_seconds
        self.deadline = deadline
        self.started = started
        self.resume = resume or {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "cluster_id": self.cluster_id,
                "step_ids": self.step_ids,
                "region": self.region,
                "aws_conn_id": self.aws_conn_id,
                "poll_seconds": self.poll_seconds,
                "deadline": self.deadline,
                "started": self.started,
                "resume": self.resume,
            },
        )

    async def _hook(self) -> Any:
        from launcher.aws.emr_hook import EmrHook

        return EmrHook(await aget_aws(self.aws_conn_id, self.region))

    def _poll(self, hook: Any) -> tuple[str, list[str]]:
        cluster_state = hook.describe_cluster(self.cluster_id)["Status"]["State"]
        return cluster_state, [hook.describe_step(self.cluster_id, s)["Status"]["State"] for s in self.step_ids]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from launcher.export.run.emr import steps_done

        # `resume` goes back to the task in the event (dag.test() passes only the event on).
        base = {"clusterId": self.cluster_id, "stepIds": self.step_ids, "resume": self.resume}
        last = ""
        try:
            hook = await self._hook()
            while True:
                cluster_state, states = await asyncio.to_thread(self._poll, hook)
                line = f"cluster {self.cluster_id} {cluster_state}; " + ", ".join(
                    f"step {n}/{len(states)} {st}" for n, st in enumerate(states, 1)
                )
                if line != last:
                    self.log.info("%s", line)
                    last = line
                if steps_done(cluster_state, states):
                    yield TriggerEvent({**base, "status": "done", "clusterState": cluster_state, "stepStates": states})
                    return
                if self.deadline is not None and time.time() >= self.deadline:
                    yield TriggerEvent(
                        {
                            **base,
                            "status": "timeout",
                            "message": f"steps on {self.cluster_id} not done in time (max_wait_seconds): {', '.join(states)}",
                        }
                    )
                    return
                await asyncio.sleep(self.poll_seconds)
        except Exception as e:  # noqa: BLE001 - the task fails with it (and ends its cluster)
            yield TriggerEvent({**base, "status": "error", "message": f"waiting for {self.cluster_id}: {type(e).__name__}: {e}"})

    async def on_kill(self) -> None:
        if not self.started:
            return  # not ours to end
        hook = await self._hook()
        await asyncio.to_thread(hook.terminate, self.cluster_id)
        self.log.info("terminated cluster %s (the deferred task was killed)", self.cluster_id)
