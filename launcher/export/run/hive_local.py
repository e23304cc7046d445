"""The Hive CLI for what EMR's `hive-script --run-hive-script --args -f X ...` step does, here:
org.apache.hadoop.hive.cli.CliDriver with the metastore in embedded Derby under the run folder. For
LocalRunner in local mode (MapReduce's LocalJobRunner in the same JVM); on the local EMR with the
primary node's etc/hadoop, its jobs on the cluster's YARN (launcher/dev/yarn_cluster.py).

The class path is local pyspark 3.5.5's jars (Hive 2.3.9 incl. hive-cli, Hadoop 3.3.4, Derby,
DataNucleus) plus `make hive-jars` (Maven: hive/jvm/pom.xml into .cache/hive-jars):
emr-dynamodb-hive/-hadoop 4.5.0 + shims (the only emr-dynamodb-hive on Maven Central), AWS SDK v1
1.12.262 modules, hadoop-aws 3.3.4, hive-llap-client 2.3.9.

Findings from running it here (Java 17, see docs/hive.md):
- Java 17 needs --add-opens for Hive/DataNucleus/Gson reflection (JAVA_OPENS), including
  jdk.internal.access.foreign, or the connector's Gson fails on binary attributes.
- hive.async.log.enabled=false (no LMAX disruptor in pyspark), hive.cbo.enable=false (no Calcite).
- The metastore schema is created on first use (datanucleus.schema.autoCreateAll).
- 4.5.0 sizes mappers from YARN settings: mapreduce.{map,reduce}.memory.mb must be set (Hadoop 3's
  default -1 makes it divide by zero); it asks YARN's ClusterStatus (1 tracker in local mode).
- 4.5.0 takes dynamodb.throughput.read from ProvisionedThroughput, which is 0 for on-demand tables:
  "Read throughput should not be less than 1". Locally only PROVISIONED tables can be exported;
  EMR 7's emr-ddb 5.x reads on-demand tables with its 40000-unit convention.
- 4.5.0 falls back to the EC2 instance profile for credentials, so the session sets
  dynamodb.customAWSCredentialsProvider=com.amazonaws.auth.DefaultAWSCredentialsProviderChain
  (SDK v1 standard chain: env, profile, role); preCreateTable's DescribeTable uses the session's
  dynamodb.endpoint, not the TBLPROPERTY, so the endpoint is set in both.
- s3:// is served by S3A (fs.s3.impl), pointed at AWS_ENDPOINT_URL_S3 with path-style access, so
  the rendered script's s3:// staging URI works unchanged.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from launcher.core.errors import DdbS3Error
from launcher.core.s3args import S3WriteSettings
from launcher.export.plan import ExportPlan
from launcher.export.run.jars import PROJECT_ROOT, JvmSetupError

HIVE_POM = Path("hive") / "jvm" / "pom.xml"
HIVE_JARS_DIR_ENV = "DDB_S3_HIVE_JARS_DIR"
CLI_DRIVER = "org.apache.hadoop.hive.cli.CliDriver"
JAVA_OPENS = [
    f"--add-opens=java.base/{p}=ALL-UNNAMED"
    for p in (
        "java.lang",
        "java.lang.invoke",
        "java.lang.reflect",
        "java.io",
        "java.net",
        "java.nio",
        "java.util",
        "java.util.concurrent",
        "java.util.concurrent.atomic",
        "java.util.regex",
        "java.text",
        "sun.nio.ch",
        "sun.nio.cs",
        "sun.security.action",
        "sun.util.calendar",
        "jdk.internal.access.foreign",
        "jdk.internal.misc",
        "jdk.internal.ref",
    )
] + ["--add-exports=java.base/jdk.internal.access.foreign=ALL-UNNAMED"]


def default_hive_jars_dir() -> Path:
    env = os.environ.get(HIVE_JARS_DIR_ENV)
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / ".cache" / "hive-jars"


def pyspark_jars_dir() -> Path:
    try:
        import pyspark
    except ImportError:
        raise JvmSetupError("pyspark is not installed; local Hive uses its Hive 2.3.9 jars (uv sync --all-extras)") from None
    return Path(pyspark.__file__).resolve().parent / "jars"


def hive_classpath(jars_dir: Path | None = None) -> list[Path]:
    d = Path(jars_dir) if jars_dir is not None else default_hive_jars_dir()
    jars = sorted(d.glob("*.jar")) if d.is_dir() else []
    if not any(j.name.startswith("emr-dynamodb-hive-") for j in jars):
        raise JvmSetupError(f"no emr-dynamodb-hive jar in {d}; run `make hive-jars` (Maven builds hive/jvm into it)")
    spark = pyspark_jars_dir()
    if not (spark / "hive-cli-2.3.9.jar").exists():
        raise JvmSetupError(f"{spark} has no hive-cli-2.3.9.jar; local Hive needs pyspark 3.5.x's Hive jars")
    return sorted(spark.glob("*.jar")) + jars


@dataclass(frozen=True)
class HiveSession:
    """Where the local Hive session reaches AWS: what EMR's master node has from its configuration."""

    region: str
    endpoints: dict[str, str | None]  # dynamodb, s3: None means AWS's own
    s3: S3WriteSettings = field(default_factory=S3WriteSettings)

    @classmethod
    def of(cls, plan: ExportPlan) -> HiveSession:
        return cls(plan.region, dict(plan.endpoints), plan.s3)


def check_local_hive(plan: ExportPlan) -> None:
    """What the local Hive (emr-dynamodb-hive 4.5.0) cannot do that EMR's connector can, said up front."""
    if plan.table.billing_mode != "PROVISIONED":
        raise DdbS3Error(
            f"table {plan.table.name!r} is on-demand: the local Hive runner uses emr-dynamodb-hive 4.5.0 (the only "
            "version on Maven Central), which reads an on-demand table's capacity as 0 and refuses to scan it; "
            "export it with --engine spark here, or --engine hive --runner emr (EMR 7's connector reads on-demand tables)"
        )
    if any(c.hive_type == "boolean" for c in plan.hive_columns):
        raise DdbS3Error(
            "--hive-columns: boolean columns need emr-dynamodb-hive 4.6+ (EMR's connector); the local "
            "runner's 4.5.0 says 'The hive type boolean is not supported in DynamoDB'; leave the "
            "attribute out, or use the whole-item form, which exports BOOL values"
        )


def local_hiveconf(session: HiveSession, work: Path) -> dict[str, str]:
    """The session settings that make a laptop look like the EMR master node for export.hql."""
    conf = {
        "hive.async.log.enabled": "false",
        "hive.cbo.enable": "false",
        "hive.stats.autogather": "false",
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={work / 'metastore_db'};create=true",
        "hive.metastore.warehouse.dir": str(work / "warehouse"),
        "hive.exec.scratchdir": str(work / "scratch"),
        "hive.exec.local.scratchdir": str(work / "local-scratch"),
        "hive.querylog.location": str(work / "querylog"),
        "hive.downloaded.resources.dir": str(work / "resources"),
        "mapreduce.framework.name": "local",
        "mapreduce.map.memory.mb": "1024",
        "mapreduce.reduce.memory.mb": "1024",
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.aws.credentials.provider": "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
        "fs.s3a.endpoint.region": session.region,
        "dynamodb.customAWSCredentialsProvider": "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
        "dynamodb.region": session.region,
    }
    if session.endpoints.get("s3"):
        conf["fs.s3a.endpoint"] = str(session.endpoints["s3"])
        conf["fs.s3a.path.style.access"] = "true"
    if session.endpoints.get("dynamodb"):
        conf["dynamodb.endpoint"] = str(session.endpoints["dynamodb"])
    sse = session.s3.sse
    if sse:
        conf["fs.s3a.server-side-encryption-algorithm"] = "SSE-KMS" if sse == "aws:kms" else "AES256"
        if session.s3.sse_kms_key_id:
            conf["fs.s3a.server-side-encryption.key"] = session.s3.sse_kms_key_id
    return conf


# What Hive's full hive-exec jar bundles and pyspark's hive-exec "core" jar leaves to the class path:
# a MapReduce task on YARN has only what its job ships, so these go with it (measured: without
# hive-shims a task fails on HadoopShimsSecure$InputSplitShim, without joda-time on the serde).
HIVE_EXEC_BUNDLED = (
    "hive-common",
    "hive-serde",
    "hive-shims",
    "hive-shims-common",
    "hive-shims-0.23",
    "hive-shims-scheduler",
    "hive-storage-api",
    "hive-llap-common",
    "kryo-shaded",
    "minlog",
    "objenesis",
    "javolution",
    "libfb303",
    "libthrift",
    "json",
    "commons-lang",
    "jodd-core",
    "joda-time",
)


def hive_task_jars() -> list[Path]:
    """The jars a MapReduce job of this Hive ships to its tasks (Hadoop's -libjars, `tmpjars`): Hive's
    bundled parts and the connector with its SDK, as EMR's Hive ships its aux jars (HIVE_AUX_JARS_PATH).
    `hive.aux.jars.path` itself did not reach the job here (no "adding libjars" in hive.log)."""
    spark = pyspark_jars_dir()
    bundled = [j for j in sorted(spark.glob("*.jar")) if j.stem.rsplit("-", 1)[0] in HIVE_EXEC_BUNDLED]  # <name>-<version>.jar
    connector = [j for j in hive_classpath() if j.parent != spark and not j.name.startswith("ddb-s3-")]
    return bundled + connector


def hive_local_command(args: list[str], session: HiveSession, hadoop_conf: Path | None = None) -> list[str]:
    """The local command for an EMR step ["hive-script", "--run-hive-script", "--args", *hive_args]:
    Hive in local mode, or with `hadoop_conf` (a node's etc/hadoop, launcher/dev/yarn_cluster.py)
    submitting its MapReduce jobs to that node's YARN."""
    if args[:3] != ["hive-script", "--run-hive-script", "--args"] or len(args) < 5 or "-f" not in args[3:]:
        raise DdbS3Error(
            f"the local runner runs hive-script steps of the form hive-script --run-hive-script --args -f <script>, got {args[:5]}"
        )
    hive_args = args[3:]
    script = Path(hive_args[hive_args.index("-f") + 1])
    work = script.resolve().parent / "hive-local"
    work.mkdir(parents=True, exist_ok=True)
    java = "java"
    if os.environ.get("JAVA_HOME") and (Path(os.environ["JAVA_HOME"]) / "bin" / "java").exists():
        java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    cmd = [
        java,
        "-Xmx2g",
        *JAVA_OPENS,
        f"-Dhive.log.dir={work / 'logs'}",
        f"-Dderby.stream.error.file={work / 'derby.log'}",
        f"-Djava.io.tmpdir={work / 'tmp'}",
        "-cp",
        os.pathsep.join(str(p) for p in ([hadoop_conf] if hadoop_conf else []) + hive_classpath()),
        CLI_DRIVER,
    ]
    (work / "tmp").mkdir(exist_ok=True)
    conf = local_hiveconf(session, work)
    if hadoop_conf:
        del conf["mapreduce.framework.name"]  # the node's mapred-site.xml: yarn
        conf["tmpjars"] = ",".join(j.as_uri() for j in hive_task_jars())
    for key, value in conf.items():
        cmd += ["--hiveconf", f"{key}={value}"]
    return cmd + hive_args


HQL_CHECK_CLASS = "dev.ddbs3.hive.HqlCheck"


def hql_check(script: Path) -> list[dict]:
    """Hive's own parser (ParseDriver, Hive 2.3.9) over a rendered script, split the way `hive -f`
    splits it: one dict a statement ({"kind", "text", "tree", "strings"}). A statement Hive cannot
    parse raises DdbS3Error with Hive's message."""
    import json

    cp = os.pathsep.join(str(p) for p in hive_classpath())
    proc = subprocess.run(["java", "-cp", cp, HQL_CHECK_CLASS, str(script)], check=False, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("cannot parse")] or proc.stderr.splitlines()[-1:]
        raise DdbS3Error(f"{script}: {lines[0] if lines else 'HqlCheck failed'}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
