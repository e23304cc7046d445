"""A failed step's logs: where EMR archives them, and the line most likely to say why."""

from __future__ import annotations

import re
from collections.abc import Callable

STDERR_TAIL_LINES = 20


def cause_from_stderr(lines: list[str], where: str, progress: Callable[[str], None]) -> str:
    """A failed run's stderr: its last lines shown as progress, and one line naming the probable
    cause and where the log is (every runner's failure message ends with it)."""
    for line in lines[-STDERR_TAIL_LINES:]:
        progress(f"stderr | {line}")
    return f"probable cause: {probable_cause(lines)} ({where})"


# Lines logged once the driver is stopping, after the failure: never the cause. A message to an RPC
# endpoint already stopped ("Could not find CoarseGrainedScheduler." from an executor, "Could not find
# AppClient." from a standalone driver), and a task handed to a pool already terminated (logged as
# "Inbox: Ignoring error"). CI saw each follow, and hide, a ResourceNotFoundException.
SHUTDOWN_NOISE = ("SparkException: Could not find ", "RpcEnv already stopped", "[Terminated, pool size")


def probable_cause(lines: list[str]) -> str:
    """The most telling line of a failed Spark run: the last Python or Java exception, not counting
    the executors' noise as the driver shuts down after the failure (CI saw it outlast the cause)."""
    for line in reversed(lines):
        if re.search(r"(Error|Exception)(:|$)", line) and not line.startswith("\tat ") and not any(n in line for n in SHUTDOWN_NOISE):
            return line.strip()[:400]
    return lines[-1][:400] if lines else "no output"


def step_log_key(log_uri: str, cluster_id: str, step_id: str, name: str = "stderr.gz") -> str:
    """<LogUri>/<cluster>/steps/<step>/<name>: where EMR archives a step's logs (every ~5 minutes)."""
    return f"{log_uri.rstrip('/')}/{cluster_id}/steps/{step_id}/{name}"


def driver_log_key(log_uri: str, application_id: str, job_run_id: str, name: str = "stderr.gz") -> str:
    """<logUri>/applications/<app>/jobs/<run>/SPARK_DRIVER/<name>: where EMR Serverless writes a job
    run's driver logs under its S3 monitoring logUri."""
    return f"{log_uri.rstrip('/')}/applications/{application_id}/jobs/{job_run_id}/SPARK_DRIVER/{name}"
