"""Shared bits: timing a subprocess while sampling the RSS of its process tree from /proc."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
TICK = os.sysconf("SC_CLK_TCK")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Peaks:
    root: int = 0  # the process we started (the launcher, or the tool)
    driver: int = 0  # the Spark driver JVM (SparkSubmit); in local mode it runs the executors too
    workers: int = 0  # python workers of Spark (summed)
    tree: int = 0  # the whole tree (summed)
    samples: int = 0
    cpu: dict = field(default_factory=dict)  # pid -> last seen user+system seconds

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    def mib(self) -> dict[str, float]:
        return {k: round(getattr(self, k) / MIB, 1) for k in ("root", "driver", "workers", "tree")}


@dataclass
class RssSampler:
    """Polls the RSS of a process tree every `interval` seconds and keeps the peaks."""

    root_pid: int
    interval: float = 0.1
    peaks: Peaks = field(default_factory=Peaks)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        kids = _children_map()
        tree, stack = [], [self.root_pid]
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(kids.get(pid, []))
        p = self.peaks
        total = driver = workers = 0
        for pid in tree:
            try:
                f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                p.cpu[pid] = (int(f[11]) + int(f[12])) / TICK
            except (OSError, IndexError, ValueError):
                pass
            rss = _rss(pid)
            total += rss
            if pid == self.root_pid:
                p.root = max(p.root, rss)
                continue
            # Read every time: spark-submit is a shell script that execs the JVM in the same pid.
            cmd = _cmdline(pid)
            if "org.apache.spark.deploy.SparkSubmit" in cmd:
                driver = max(driver, rss)
            elif Path(cmd.split(" ", 1)[0]).name.startswith("python"):
                workers += rss
        p.driver, p.workers, p.tree = max(p.driver, driver), max(p.workers, workers), max(p.tree, total)
        p.samples += 1

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    cmd: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float
    peaks: Peaks
    stamped: list[tuple[float, str]]  # stderr lines with the seconds since the start they arrived at


def run_measured(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
                 timeout: float = 3600, stdin: str | None = None) -> Run:
    """Run cmd, wall-clock it and sample its tree's RSS. Stdout goes to a temp file (no pipe stalls);
    stderr is read as it comes, each line time-stamped (the phases of a run)."""
    import tempfile
    import threading

    stamped: list[tuple[float, str]] = []
    with tempfile.TemporaryFile() as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        assert proc.stderr is not None
        err = proc.stderr

        def read_stderr() -> None:
            for raw in err:
                stamped.append((time.monotonic() - t0, raw.decode(errors="replace")))

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        with RssSampler(proc.pid) as sampler:
            if stdin is not None:
                assert proc.stdin is not None
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        seconds = time.monotonic() - t0
        reader.join(timeout=10)
        out.seek(0)
        return Run(cmd, code, out.read().decode(errors="replace"), "".join(line for _, line in stamped), seconds,
                   sampler.peaks, stamped)


class Timer:
    def __enter__(self) -> Timer:
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.t0


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)
