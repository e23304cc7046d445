"""The JVM side of the Spark `connector` reader: where its jars live, how they are built, Java check.

`make jars` (= `build_jars`) runs Maven on spark/jvm/pom.xml and leaves in JARS_DIR our helper jar
(dev.ddbs3.GzipExportChunks, the export job's connector reader; dev.ddbs3.ItemToDynamoDbJson,
dev.ddbs3.DefaultChainCredentialsProvider), emr-dynamodb-hadoop
5.0.0 (a fat jar from Central: AWS SDK v2 2.18.40 and friends are inside), its connector classes
alone (emr-dynamodb-hadoop-5.0.0-classes.jar, what the Glue runner uploads) and gson-2.8.9.

Findings from running DynamoDBInputFormat 5.0.0 on local pyspark 3.5.5 against dynalite
(see spark/jvm/README.md and tests/export/test_jvm_converter.py):
- Pass every jar to Spark with `spark.jars` (comma-joined `connector_classpath()`), never on
  spark.driver.extraClassPath: the fat jar's commons-lang3 3.7 then breaks Spark start-up
  (java.lang.NoSuchFieldError: JAVA_11). Only gson-2.8.9.jar may go there, for jobs that
  deserialise DynamoDBItemWritable (pyspark's gson-2.2.4 lacks JsonArray.isEmpty()).
- Without dynamodb.yarn.enabled=false, getSplits fails off YARN:
  java.lang.ArithmeticException: / by zero (RoundRobinYarnContainerAllocator.getMaxMappers).
- Splits = min(segments, floor(throughput.read * read.percent) / 100): set
  dynamodb.throughput.read high enough (e.g. 100 * segments / read.percent) together with
  dynamodb.scan.segments; Spark's minPartitions is ignored.
- dynamodb.endpoint with the scheme (http://...), and dynamodb.regionid so the connector does
  not ask EC2 instance metadata for a region.
- 5.0.0 falls back to the instance profile only, so the local and Glue runners set
  dynamodb.customAWSCredentialsProvider=dev.ddbs3.DefaultChainCredentialsProvider (SDK v2 default
  chain: env vars, profiles, roles); never put keys into the Hadoop conf. EMR and EMR Serverless
  do not (launcher/export/plan.py CUSTOM_PROVIDER_RUNNERS: the node's connector cannot load it). (Spark itself copies
  AWS_ACCESS_KEY_ID/SECRET from the env into fs.s3.awsAccessKeyId, the connector's fallback, but
  drops the session token; profile-only credentials fail without our provider.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from launcher.core.errors import DdbS3Error
from launcher.export.render.base import HELPERS_JAR

PROJECT_ROOT = Path(__file__).resolve().parents[3]
POM = Path("spark") / "jvm" / "pom.xml"
JARS_DIR_ENV = "DDB_S3_JARS_DIR"
MIN_JAVA = 17

CONVERTER_CLASS = "dev.ddbs3.ItemToDynamoDbJson"
CREDENTIALS_PROVIDER_CLASS = "dev.ddbs3.DefaultChainCredentialsProvider"
INPUT_FORMAT_CLASS = "dev.ddbs3.BudgetedDynamoDBInputFormat"  # spark/jvm; GzipExportChunks reads through it
KEY_CLASS = "org.apache.hadoop.io.Text"
VALUE_CLASS = "org.apache.hadoop.dynamodb.DynamoDBItemWritable"


class JvmSetupError(DdbS3Error):
    """Java or the connector jars are missing; the message is one line saying what to do."""


PACKAGED_JARS = Path(__file__).resolve().parents[2] / "_jars"  # inside an installed wheel (hatch_build.py)


def default_jars_dir() -> Path:
    """$DDB_S3_JARS_DIR, else the wheel's own jars, else <project root>/.cache/jars (a checkout)."""
    env = os.environ.get(JARS_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    if any(PACKAGED_JARS.glob("emr-dynamodb-hadoop-*.jar")):
        return PACKAGED_JARS
    return PROJECT_ROOT / ".cache" / "jars"


JARS_DIR = default_jars_dir()


def connector_classpath(jars_dir: Path | None = None) -> list[Path]:
    """All jars in jars_dir, sorted by name; a clear error when there are none."""
    d = Path(jars_dir) if jars_dir is not None else default_jars_dir()
    jars = sorted(d.glob("*.jar")) if d.is_dir() else []
    if not jars:
        raise JvmSetupError(f"no connector jars in {d}; run `make jars` (Maven builds spark/jvm into it)")
    return jars


def helper_jar_path() -> Path:
    """The helper jar: inside the installed wheel (launcher/_jars), or built by `make jars` in a checkout."""
    packaged = Path(__file__).resolve().parents[2] / "_jars" / HELPERS_JAR
    if packaged.is_file():
        return packaged
    jars = [p for p in connector_classpath() if p.name.startswith("ddb-s3-spark-helpers")]
    if not jars:
        raise DdbS3Error("the helper jar ddb-s3-spark-helpers*.jar is missing: run `make jars` (in a checkout) or install the ddb-s3 wheel")
    return jars[-1]


def mvn_command(project_root: Path, jars_dir: Path) -> list[str]:
    """The Maven command that fills jars_dir; `clean` first, so re-running it is idempotent."""
    return [
        "mvn",
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(Path(project_root) / POM),
        "clean",
        "package",
        f"-Djars.dir={Path(jars_dir).resolve()}",
    ]


def build_jars(project_root: Path = PROJECT_ROOT, jars_dir: Path | None = None) -> list[Path]:
    """Run Maven (see mvn_command) and return the resulting class path."""
    d = Path(jars_dir) if jars_dir is not None else default_jars_dir()
    if shutil.which("mvn") is None:
        raise JvmSetupError("mvn not found; install maven (3.8+) to build the connector jars")
    check_java()
    d.mkdir(parents=True, exist_ok=True)
    cmd = mvn_command(project_root, d)
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise JvmSetupError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
    return connector_classpath(d)


_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


def parse_java_major(version_output: str) -> int | None:
    """Major version from `java -version` output: '"1.8.0_392"' -> 8, '"17.0.9"' -> 17."""
    m = _VERSION_RE.search(version_output)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):
        major = int(m.group(2))
    return major


def check_java(java: str = "java") -> int:
    """Return the major version of `java`; raise JvmSetupError if it is missing or < 17."""
    hint = "install openjdk-17-jre-headless"
    need = f"Java {MIN_JAVA} is required for local Spark and the connector"
    exe = java
    java_home = os.environ.get("JAVA_HOME")
    if java == "java" and java_home and (Path(java_home) / "bin" / "java").exists():
        exe = str(Path(java_home) / "bin" / "java")
    try:
        proc = subprocess.run([exe, "-version"], check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise JvmSetupError(f"{need}; found none ({e.__class__.__name__}: {e}); {hint}") from e
    out = proc.stderr + proc.stdout
    major = parse_java_major(out)
    if major is None or major < MIN_JAVA:
        first = out.strip().splitlines()[0] if out.strip() else f"exit {proc.returncode}"
        raise JvmSetupError(f"{need}; found {first}; {hint}")
    return major


def main(argv: list[str]) -> int:
    """`python -m launcher.jars build|check-java`, used by the Makefile."""
    try:
        if argv == ["build"]:
            check_java()
            built = build_jars()
            print(f"connector jars: {len(built)} in {default_jars_dir()}")
        elif argv == ["check-java"]:
            print(f"java {check_java()} found")
        else:
            print("usage: python -m launcher.jars build|check-java", file=sys.stderr)
            return 2
    except JvmSetupError as e:
        print(f"ddb-s3: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
