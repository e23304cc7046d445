"""Class data sharing for the local Spark JVMs (launcher/export/run/class_sharing.py): the first run
writes an archive of its own, kept only when the run succeeded; later runs map it; and the options
are ones this machine's Java takes (a real JVM is run with them, no Spark needed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from launcher.export.run import class_sharing as cs


@pytest.fixture
def archive_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cs.DIR_ENV, str(tmp_path))
    monkeypatch.delenv(cs.SWITCH_ENV, raising=False)
    return tmp_path


def java(options: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["java", *options.split(), *args], capture_output=True, text=True, timeout=120)


def test_the_first_run_writes_the_archive_the_next_run_maps(archive_dir: Path) -> None:
    first = cs.class_sharing()
    assert first.written and first.archive and first.archive.parent == archive_dir
    assert f"-XX:ArchiveClassesAtExit={first.written}" in first.options
    proc = java(first.options, "-version")
    assert proc.returncode == 0 and proc.stderr.count("\n") <= 3, proc.stderr  # the version, no CDS chatter
    assert first.written.stat().st_size > 0
    first.keep()
    assert first.archive.exists() and not first.written.exists()

    second = cs.class_sharing()
    assert second.written is None and second.options.startswith(f"-XX:SharedArchiveFile={first.archive}")
    loaded = java(second.options, "-Xlog:class+load=info", "-version")
    assert loaded.returncode == 0 and "source: shared objects file (top)" in loaded.stdout  # mapped from our archive


def test_keeping_an_archive_deletes_those_of_gone_or_changed_pysparks_and_javas(archive_dir: Path, tmp_path: Path) -> None:
    """Each venv's pyspark gets its own ~70 MB archive; the test suite's fresh clones had left 85 of
    them (5.5 GB) in ~/.cache/ddb-s3/jvm before keep() pruned."""
    spark = tmp_path / "venv" / "pyspark"
    spark.mkdir(parents=True)
    java_path = cs._java()
    assert java_path
    live = archive_dir / str(cs._archive_name(java_path, str(spark)))  # another venv that still exists
    live.write_bytes(b"jsa")
    live.with_suffix(cs.SOURCE_SUFFIX).write_text(f"{java_path}\n{spark}\n")
    gone = archive_dir / "spark-0000000000000000.jsa"  # its venv was deleted
    gone.write_bytes(b"jsa")
    gone.with_suffix(cs.SOURCE_SUFFIX).write_text(f"{java_path}\n{tmp_path / 'deleted-venv'}\n")
    legacy = archive_dir / "spark-1111111111111111.jsa"  # written before archives named their source
    legacy.write_bytes(b"jsa")

    first = cs.class_sharing()
    java(first.options, "-version")
    first.keep()
    assert first.archive
    assert sorted(p.name for p in archive_dir.iterdir() if p.is_file()) == sorted(
        [first.archive.name, first.archive.with_suffix(cs.SOURCE_SUFFIX).name, live.name, live.with_suffix(cs.SOURCE_SUFFIX).name]
    )
    os.utime(spark, ns=(0, 0))  # that pyspark reinstalled: its archive no longer matches it
    cs.prune(archive_dir)
    assert not live.exists() and first.archive.exists()


def test_a_failed_run_leaves_no_archive(archive_dir: Path) -> None:
    first = cs.class_sharing()
    java(first.options, "-version")
    first.discard()
    assert list(archive_dir.iterdir()) == []
    assert cs.class_sharing().written is not None  # the next run writes again


def test_a_foreign_archive_is_ignored_silently(archive_dir: Path) -> None:
    path = cs.archive_path()
    assert path is not None
    path.write_bytes(b"not an archive")
    sharing = cs.class_sharing()
    proc = java(sharing.options, "-version")
    assert proc.returncode == 0 and "shared" not in proc.stderr.lower(), proc.stderr


def test_switched_off_it_adds_nothing(archive_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cs.SWITCH_ENV, "0")
    assert cs.class_sharing() == cs.ClassSharing("")


def test_mapped_only_never_writes(archive_dir: Path) -> None:
    assert cs.mapped_only() == ""  # no archive yet: the JVM runs as it would without
    assert list(archive_dir.iterdir()) == []
    first = cs.class_sharing()
    java(first.options, "-version")
    first.keep()
    assert cs.mapped_only().startswith(f"-XX:SharedArchiveFile={first.archive}")


def test_the_local_emrs_spark_master_maps_the_archive(archive_dir: Path, tmp_path: Path) -> None:
    """The local EMR's daemons are started with the archive's options (launcher/dev/spark_cluster.py);
    an archive of the JDK's classes (a `java -version` wrote it) is mapped by the Master's JVM."""
    from launcher.dev.local_emr import spark_home
    from launcher.dev.spark_cluster import MASTER_CLASS, StandaloneCluster

    first = cs.class_sharing()
    java(first.options, "-version")
    first.keep()
    logs = tmp_path / "class-load"
    logs.mkdir()
    cluster = StandaloneCluster(spark_home(), "cds", tmp_path / "master")
    try:
        cluster.start_master({**os.environ, "JAVA_TOOL_OPTIONS": f"-Xlog:class+load=info:file={logs}/%p.log"})
        cluster.wait_master(timeout=120)
    finally:
        cluster.stop()
    master = [p.read_text() for p in logs.iterdir() if f"{MASTER_CLASS} source:" in p.read_text()]
    assert len(master) == 1 and "java.lang.Object source: shared objects file" in master[0]
    assert "source: shared objects file (top)" in master[0]  # from our archive, not only the JDK's own
