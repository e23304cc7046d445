"""LocalRunner: runs the rendered EMR steps on this machine. A command-runner.jar spark-submit
step becomes the local pyspark spark-submit with --master local[N]; everything else about the
step (jars, py-files, script) is used as rendered."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from launcher.core.errors import DdbS3Error
from launcher.core.layout import EXTRAS
from launcher.core.procs import die_with_parent
from launcher.core.result_line import PROGRESS_PREFIX, parse_result
from launcher.core.words import count
from launcher.export.plan import Engine, ExportPlan
from launcher.export.render import render_export
from launcher.export.render.base import REQUEST_FILES, Rendered, Target
from launcher.export.run import Handle, Progress, ReadCount, ReadCounts, Runner, RunResult, Status
from launcher.export.run.class_sharing import ClassSharing, class_sharing
from launcher.export.run.jars import check_java, connector_classpath
from launcher.export.run.step_logs import probable_cause

_TASK_DONE = re.compile(r"Finished task .* in stage (\d+)\.\d+ .*\((\d+)/(\d+)\)")


class ReadTally:
    """Adds up the tasks' progress lines (launcher.job.runtime.ReadStats): a task's later line
    replaces its earlier count. The rate is over the time since the first item was read (a task's
    line says how long it has been reading), not since Spark started."""

    def __init__(self, table_items: int, budget: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.table_items, self.budget, self.clock = table_items, budget, clock
        self.read_since: float | None = None
        self.tasks: dict[int, tuple[int, int]] = {}

    def update(self, line: str) -> ReadCount | None:
        """None for a line that is not a task's progress line, else the count so far."""
        at = line.find(PROGRESS_PREFIX)  # the JVM shares the stream: its text may come first or after
        if at < 0:
            return None
        try:
            doc, _ = json.JSONDecoder().raw_decode(line[at + len(PROGRESS_PREFIX) :])
        except ValueError:
            doc = None  # torn by the JVM's own output; the task's next line counts again
        return self.add(doc)

    def add(self, doc: object) -> ReadCount:
        """A task's count (runtime.ReadStats' document); anything else leaves the counts as they were."""
        now = self.clock()
        try:
            assert isinstance(doc, dict)
            self.tasks[int(doc["partition"])] = (int(doc["items"]), int(doc["bytes"]))
            began = now - float(doc.get("seconds", 0.0))
            self.read_since = began if self.read_since is None else min(self.read_since, began)
        except (AssertionError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            pass
        items = sum(i for i, _ in self.tasks.values())
        size = sum(b for _, b in self.tasks.values())
        return ReadCount(items, size, now - (self.read_since if self.read_since is not None else now), self.table_items, self.budget)


def spark_submit_path() -> str:
    candidate = Path(sys.executable).parent / "spark-submit"
    found = str(candidate) if candidate.exists() else shutil.which("spark-submit")
    if not found:
        raise DdbS3Error("spark-submit not found: install the local extra (uv sync --all-extras) or `make venv`")
    return found


class LocalRunner(Runner):
    """The Handle: the run's folder, where the rendered artifacts and each step's log are written.
    The steps run in `wait`, as child processes of this one (nothing outlives the run to release)."""

    name = "local"

    def __init__(self, work_dir: Path, progress: Progress = print, jars: list[str] | None = None, counts: ReadCounts | None = None) -> None:
        super().__init__(progress, counts, install_signal_handlers=False)
        self.work_dir = work_dir
        self.jars = jars
        self._steps: list[dict] = []

    def target(self, run_dir: Path) -> Target:
        jars = self.jars if self.jars is not None else [str(p) for p in connector_classpath()]
        return Target(str(run_dir), jars)

    def submit(self, plan: ExportPlan) -> Handle:
        run_dir = (self.work_dir / plan.export_id).resolve()
        if plan.engine == Engine.PYTHON:  # no steps: the job's functions run in `wait`, in this process
            run_dir.mkdir(parents=True, exist_ok=True)
            self._steps = []
            return Handle(str(run_dir), ())
        check_java()
        run_dir.mkdir(parents=True, exist_ok=True)
        rendered = render_export(plan, self.target(run_dir))
        write_artifacts(rendered, run_dir)
        self._steps = rendered.steps
        return Handle(str(run_dir), tuple(step["Name"] for step in rendered.steps))

    def wait(self, plan: ExportPlan, handle: Handle) -> Status:
        """Runs the steps one after the other, streaming their output (a failed one raises)."""
        if plan.engine == Engine.PYTHON:
            return self.run_in_process(plan)
        result: dict = {}
        logs = []
        for n, step in enumerate(self._steps, 1):
            log = Path(handle.resource) / f"step-{n}.log"
            logs.append(str(log))
            self.progress(f"step {n}/{len(self._steps)}: {step['Name']} (log: {log})")
            began = self.clock.now()
            result.update(self.run_step(step, plan, log))
            self.progress(f"step {n}/{len(self._steps)} done in {self.clock.now() - began:.1f} s")
        return Status(True, "steps done", {"result": result, "logs": logs})

    def run_in_process(self, plan: ExportPlan) -> Status:
        """--engine python: the export job's functions in threads of this process (launcher/job/in_process.py)."""
        from launcher.export.render.base import plan_json
        from launcher.job import in_process

        tally = ReadTally(plan.table.item_count, plan.read_units_per_second)
        lock = threading.Lock()

        def report(doc: dict) -> None:  # a task's running count, as the Spark job's progress lines carry it
            with lock:
                self.counts(tally.add(doc))

        began = self.clock.now()
        self.progress(f"reading {plan.table.name} in this process: {count(len(plan.segment_groups), 'task')}, no JVM")

        def tick() -> None:  # no item for a while (a tight budget): the same count again, so a line still comes
            with lock:
                self.counts(tally.add(None))

        summary = in_process.export(plan_json(plan), report, tick)
        self.progress(f"done in {self.clock.now() - began:.1f} s")
        result = {"exportId": plan.export_id, "itemCount": summary["itemCount"], "dataFileCount": summary[EXTRAS]["dataFileCount"]}
        return Status(True, "exported in this process", {"result": result, "logs": []})

    def diagnose(self, plan: ExportPlan, handle: Handle, status: Status) -> str | None:
        return None  # a failed step raised in `wait`, with its probable cause

    def result(self, plan: ExportPlan, handle: Handle, status: Status, seconds: float) -> RunResult:
        return RunResult(plan.export_uri, status.detail["result"], seconds, logs=status.detail["logs"])

    def command(self, step: dict, plan: ExportPlan, jvm_options: str = "") -> list[str]:
        args = list(step["HadoopJarStep"]["Args"])
        if step["HadoopJarStep"]["Jar"] != "command-runner.jar" or not args:
            raise DdbS3Error(f"step {step['Name']!r}: the local runner runs command-runner.jar steps only")
        if args[0] == "spark-submit":
            # No Spark UI: it would listen on every interface and costs start-up time.
            # local[N,F]: plain local[N] never retries a failed task; EMR does (spark.task.maxFailures).
            # The parallel collector: G1's concurrent threads compete with the tasks for a laptop's few
            # cores (200k items, connector reader, paired runs: ~10% less CPU, driver RSS 1.5 -> 1.0 GB).
            return [
                spark_submit_path(),
                "--master",
                f"local[{plan.parallelism},4]",
                "--driver-memory",
                "2g",
                "--conf",
                "spark.ui.enabled=false",
                "--conf",
                f"spark.driver.extraJavaOptions={' '.join(['-XX:+UseParallelGC', jvm_options]).strip()}",
                *args[1:],
            ]
        if args[0] == "hive-script":
            from launcher.export.run.hive_local import HiveSession, check_local_hive, hive_local_command

            check_local_hive(plan)  # Hive in local mode, embedded Derby
            return hive_local_command(args, HiveSession.of(plan))
        raise DdbS3Error(f"step {step['Name']!r}: the local runner cannot run {args[0]!r}")

    def run_step(self, step: dict, plan: ExportPlan, log: Path) -> dict:
        sharing = class_sharing() if step["HadoopJarStep"]["Args"][:1] == ["spark-submit"] else ClassSharing("")
        cmd = self.command(step, plan, sharing.options)
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
        tail: deque[str] = deque(maxlen=30)
        tally = ReadTally(plan.table.item_count, plan.read_units_per_second)
        result: dict = {}
        with open(log, "w") as logf:
            # Own session: Ctrl-C reaches us, not Spark, and we stop it in order. Parent-death signal:
            # if this process is killed outright, Spark dies with it instead of finishing unseen.
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - only prctl(PR_SET_PDEATHSIG), no locks taken
            )
            try:
                last = 0.0
                assert proc.stdout is not None
                for line in proc.stdout:
                    logf.write(line)
                    tail.append(line.rstrip())
                    if (found := parse_result(line)) is not None:
                        result = found
                    elif (count := tally.update(line)) is not None:
                        self.counts(count)
                    elif line.startswith("ddb-s3: "):
                        self.progress(line.rstrip()[len("ddb-s3: ") :])
                    elif m := _TASK_DONE.search(line):
                        stage_done = m[2] == m[3]
                        if stage_done or time.monotonic() - last > 2:  # at most a line every 2 s
                            self.progress(f"stage {m[1]}: {m[2]}/{m[3]} tasks done")
                            last = time.monotonic()
                code = proc.wait()
            except BaseException:
                sharing.discard()
                # Ctrl-C or SIGTERM: stop Spark too. The export has no summary, so it stays incomplete.
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                raise
        if code == 0:
            sharing.keep()
        else:
            sharing.discard()
            cause = probable_cause(list(tail))
            raise DdbS3Error(f"step {step['Name']!r} failed (exit {code}): {cause} (full log: {log})")
        return result


def write_artifacts(rendered: Rendered, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in rendered.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (folder / "steps.json").write_text(json.dumps(rendered.steps, indent=2) + "\n")
    for attr, name in REQUEST_FILES.items():
        if (request := getattr(rendered, attr)) is not None:
            (folder / name).write_text(json.dumps(request, indent=2) + "\n")
