"""Class data sharing for the Spark JVMs this machine starts (issue 26.4: the fixed cost).

A JVM spends most of Spark's start loading and verifying the same ~10,000 classes from the same
jars. Java 13+ can write them, parsed and verified, to a dynamic archive when a JVM exits
(-XX:ArchiveClassesAtExit, JEP 350) and map that archive into the next JVM (-XX:SharedArchiveFile).
The first successful run of a Spark of a given Java and pyspark writes the archive; later runs map
it. Measured here (2 vCPU, Java 17, pyspark 3.5.5, local[2,4], a one-stage job, two runs each):
7.2-7.5 -> 4.8-5.2 CPU seconds and 8.2-8.7 -> 5.0-5.5 s wall (docs/bench.md); writing the archive
costs the first run ~4 s.

The JVM checks the archive itself (its own build, the class path it was made with) and runs without
it, silently with -Xlog:cds=off, when it does not match: a stale or foreign archive costs nothing but
the speed-up. Each run that writes, writes a file of its own, moved into place only after that run
succeeded, so two first runs at once never leave a torn archive. DDB_S3_CLASS_SHARING=0 turns it off.

Only the local JVMs use it: EMR, EMR Serverless and Glue start their own. The local EMR's Spark
Master and Workers map the same archive (their class path is Spark's own, as the driver's is here);
they are killed, never ended, so they only read it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from launcher.core.paths import user_cache

SWITCH_ENV = "DDB_S3_CLASS_SHARING"  # "0": no archive is read or written
DIR_ENV = "DDB_S3_CLASS_SHARING_DIR"
SOURCE_SUFFIX = ".source"  # beside each archive: the Java and pyspark it was written for (prune())
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"  # a mismatch or a class it cannot archive is not the user's concern


@dataclass(frozen=True)
class ClassSharing:
    """The JVM options for one Spark run, and what to do with the archive once it has ended."""

    options: str
    written: Path | None = None  # where this run writes an archive, if it writes one
    archive: Path | None = None

    def keep(self) -> None:
        """The run succeeded: its archive (if it wrote one) becomes the one later runs map, and the
        archives of Javas and pysparks that are gone or changed are deleted."""
        if self.written and self.archive and self.written.exists() and self.written.stat().st_size > 0:
            java, spark = _java(), _spark_home()
            self.archive.with_suffix(SOURCE_SUFFIX).write_text(f"{java}\n{spark}\n")  # before the archive: see prune()
            os.replace(self.written, self.archive)
            prune(self.archive.parent)
        self.discard()

    def discard(self) -> None:
        if self.written:
            self.written.unlink(missing_ok=True)


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return os.path.realpath(found) if found and os.path.exists(found) else None


def _spark_home() -> str | None:
    spec = importlib.util.find_spec("pyspark")  # finds the package without importing it
    return os.path.realpath(Path(spec.origin).parent) if spec and spec.origin else None


def _archive_name(java: str | None, spark: str | None) -> str | None:
    """The archive's file name for a Java and a pyspark as they are now; None when either is gone."""
    if not java or not spark or not os.path.exists(java) or not os.path.exists(spark):
        return None
    stamp = f"{java}:{os.stat(java).st_mtime_ns}:{spark}:{os.stat(spark).st_mtime_ns}"
    return f"spark-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.jsa"


def archive_path() -> Path | None:
    """The archive for this machine's Java and pyspark (a new Java or pyspark gets a new one)."""
    name = _archive_name(_java(), _spark_home())
    return user_cache("jvm", DIR_ENV) / name if name else None


def prune(folder: Path) -> None:
    """Deletes the archives no JVM will map again: each venv's pyspark has its own (~70 MB), and a
    deleted venv or a reinstalled pyspark or Java would leave its archive behind for good. Each archive's
    .source file names the Java and pyspark it was written for; one without it is from before this
    (a run's .source is written before its archive is moved into place, so never mid-way)."""
    for archive in folder.glob("spark-*.jsa"):
        source = archive.with_suffix(SOURCE_SUFFIX)
        lines = source.read_text().splitlines() if source.exists() else []
        if len(lines) != 2 or _archive_name(*lines) != archive.name:
            archive.unlink(missing_ok=True)
            source.unlink(missing_ok=True)


def class_sharing() -> ClassSharing:
    """Map the archive if there is one, else write one at exit; nothing when switched off or when
    no Java or pyspark is found (spark-submit will say so itself)."""
    archive = None if os.environ.get(SWITCH_ENV) == "0" else archive_path()
    if archive is None:
        return ClassSharing("")
    if archive.exists():
        return ClassSharing(f"-XX:SharedArchiveFile={archive} {QUIET}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    written = archive.with_name(f"{archive.stem}.{os.getpid()}.{os.urandom(4).hex()}.part")
    return ClassSharing(f"-XX:ArchiveClassesAtExit={written} {QUIET}", written, archive)


def mapped_only() -> str:
    """The options that map the archive if there is one, never writing one: for JVMs that are killed
    rather than ended, which would never finish an archive."""
    archive = None if os.environ.get(SWITCH_ENV) == "0" else archive_path()
    return f"-XX:SharedArchiveFile={archive} {QUIET}" if archive and archive.exists() else ""
