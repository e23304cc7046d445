"""A Spark standalone cluster on this machine: the Master and Worker that ship with pyspark, one
process group each, bound to 127.0.0.1 on free ports, so that a local cluster's executors run in
JVMs of their own, in their own working folders, with their node's environment.

The local EMR gives each of its clusters one (launcher/dev/local_emr.py): the Master beside the
primary node, a Worker in each core node's folder; `spark-submit --master <url>` from the primary
node runs the driver there (client mode) and the executors on the Workers.

A Worker starts its executors with Java's ProcessBuilder, in the Worker's own process group: stopping
the group stops the executors too (their Python workers, in a group of pyspark.daemon's making, end
when the executor's JVM closes their stdin). Every daemon gets PR_SET_PDEATHSIG as well, so a local
EMR killed outright leaves no JVM behind.

Lean on purpose: many tests start a cluster on a 2-core machine. The daemons get a small heap, the
serial collector and the client compiler only, and map the local runner's class-data-sharing archive
when there is one (their class path is Spark's own); the executors a small heap and the serial collector.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from launcher.core.procs import die_with_parent
from launcher.core.wait import poll_until
from launcher.export.run.class_sharing import mapped_only

HOST = "127.0.0.1"
DAEMON_MEMORY = "256m"  # SPARK_DAEMON_MEMORY (spark-class's default is 1g)
DAEMON_JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1"  # idle most of the time
WORKER_CORES = 1
WORKER_MEMORY = "768m"  # what the Worker offers; one executor of EXECUTOR_MEMORY fits
EXECUTOR_MEMORY = "512m"
# Short-lived JVMs on two shared cores: the client compiler alone (C2 costs more CPU than it saves here).
EXECUTOR_JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
DRIVER_JAVA_OPTS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
MARKER_PROPERTY = "ddb_s3.local_cluster"  # -D<this>=<cluster id> on every JVM of a cluster: `ps` tells them apart
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"
_MASTER_URL = re.compile(r"Starting Spark master at (spark://\S+)")
_REGISTERED = "Successfully registered with master"


class SparkClusterError(Exception):
    pass


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, n: int = 20) -> str:
        return "\n".join(self.text().splitlines()[-n:])


def spawn_daemon(name: str, cmd: list[str], cwd: Path, env: Mapping[str, str], deathsig: int = signal.SIGTERM) -> Daemon:
    """A cluster daemon in `cwd`, its output in <cwd>/<name>.log: in a process group of its own (what
    it starts with it), and sent `deathsig` by the kernel if the thread that started it goes."""
    log = cwd / f"{name}.log"
    cwd.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: its executors with it
            preexec_fn=lambda: die_with_parent(deathsig),  # noqa: PLW1509 - only prctl(PR_SET_PDEATHSIG)
        )
    return Daemon(name, proc, log)


class StandaloneCluster:
    """One Master and its Workers. Start it from the thread that lives as long as the cluster (the
    daemons' PR_SET_PDEATHSIG is bound to the thread that starts them); `stop()` may come from any."""

    def __init__(self, spark_home: str, name: str, folder: Path) -> None:
        self.spark_home, self.name, self.folder = spark_home, name, folder
        self.master: Daemon | None = None
        self.workers: list[Daemon] = []
        self.url: str | None = None
        self.stopped = False
        self.lock = threading.Lock()

    def marker(self) -> str:
        return f"-D{MARKER_PROPERTY}={self.name}"

    def _spawn(self, name: str, cls: str, args: list[str], cwd: Path, env: Mapping[str, str]) -> Daemon:
        daemon_env = dict(env)
        daemon_env.update(
            SPARK_HOME=self.spark_home,
            SPARK_LOCAL_IP=HOST,
            SPARK_DAEMON_MEMORY=DAEMON_MEMORY,
            SPARK_DAEMON_JAVA_OPTS=" ".join(filter(None, [DAEMON_JAVA_OPTS, mapped_only(), self.marker()])),
            SPARK_NO_DAEMONIZE="1",
        )
        with self.lock:
            if self.stopped:
                raise SparkClusterError(f"{self.name}: stopped before its {name} started")
            return spawn_daemon(name, [str(Path(self.spark_home) / "bin" / "spark-class"), cls, *args], cwd, daemon_env)

    def start_master(self, env: Mapping[str, str]) -> None:
        """The Master (REST submission off, web UI on a free port); `wait_master` gives its URL."""
        env = dict(env, SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false")
        self.master = self._spawn("master", MASTER_CLASS, ["--host", HOST, "--port", "0", "--webui-port", "0"], self.folder, env)

    def wait_master(self, timeout: float) -> str:
        master = self.master
        assert master is not None, "start_master first"

        def seen() -> str | None:
            if master.proc.poll() is not None:
                raise SparkClusterError(f"{self.name}: the Spark master exited ({master.proc.returncode}):\n{master.tail()}")
            found = _MASTER_URL.search(master.text())
            return found.group(1) if found else None

        self.url = poll_until(seen, lambda url: url is not None, every=0.1, timeout=timeout, what=f"{self.name}'s Spark master")
        assert self.url is not None
        return self.url

    def start_worker(self, node: Path, env: Mapping[str, str], cores: int = WORKER_CORES, memory: str = WORKER_MEMORY) -> Daemon:
        """A Worker whose folder is `node`: its work dir (each executor's working folder below it) and
        local dirs there, and `env` (the node's) for the executors it starts."""
        assert self.url, "wait_master first"
        work = node / "spark" / "work"
        local = node / "spark" / "local"
        for d in (work, local):
            d.mkdir(parents=True, exist_ok=True)
        env = dict(env, SPARK_WORKER_DIR=str(work), SPARK_LOCAL_DIRS=str(local))
        args = ["--host", HOST, "--port", "0", "--webui-port", "0", "--cores", str(cores), "--memory", memory, "--work-dir", str(work)]
        worker = self._spawn(f"worker-{len(self.workers) + 1}", WORKER_CLASS, [*args, self.url], node / "spark", env)
        self.workers.append(worker)
        return worker

    def wait_workers(self, timeout: float) -> None:
        def registered() -> int:
            for w in self.workers:
                if w.proc.poll() is not None:
                    raise SparkClusterError(f"{self.name}: Spark {w.name} exited ({w.proc.returncode}):\n{w.tail()}")
            return sum(_REGISTERED in w.text() for w in self.workers)

        poll_until(registered, lambda n: n == len(self.workers), every=0.1, timeout=timeout, what=f"{self.name}'s Spark workers")

    def submit_confs(self) -> dict[str, str]:
        """What spark-submit needs to run an application here: the driver on 127.0.0.1 (client mode),
        executors sized to the Workers, lean JVMs, each marked with the cluster's name."""
        return {
            "spark.driver.host": HOST,
            "spark.driver.bindAddress": HOST,
            "spark.ui.enabled": "false",
            "spark.executor.memory": EXECUTOR_MEMORY,
            "spark.executor.defaultJavaOptions": f"{EXECUTOR_JAVA_OPTS} {self.marker()}",
            "spark.driver.defaultJavaOptions": f"{DRIVER_JAVA_OPTS} {self.marker()}",
        }

    @staticmethod
    def fit_confs() -> dict[str, str]:
        """What each application's executors may ask for here, set after the application's own options:
        one core and EXECUTOR_MEMORY, what a Worker has. An application sized for real workers (EMR
        Serverless's 4 vCPU and 14 GB, a step's own --executor-memory) would otherwise wait for
        resources no Worker offers ("Initial job has not accepted any resources")."""
        return {"spark.executor.cores": str(WORKER_CORES), "spark.executor.memory": EXECUTOR_MEMORY, "spark.driver.memory": "1g"}

    def stop(self) -> None:
        """SIGKILL each daemon's process group (its executors with it), as instances that are
        terminated go; idempotent, from any thread."""
        with self.lock:
            self.stopped = True
            daemons = [d for d in (*self.workers, self.master) if d is not None]
        kill_daemons(daemons)


def kill_daemons(daemons: list[Daemon]) -> None:
    """SIGKILL each daemon's process group (what it started there goes with it), then reap them."""
    for d in daemons:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(d.proc.pid, signal.SIGKILL)
    for d in daemons:
        d.proc.wait()


def cluster_jvms(name: str, main_class: str | None = None) -> list[int]:
    """Pids of the JVMs marked as `name`'s (optionally only those running `main_class`), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"-D{MARKER_PROPERTY}={name}".encode() in args and (main_class is None or main_class.encode() in args):
            found.append(int(entry.name))
    return sorted(found)
