"""The option table of every command: one pydantic model per command family, built on shared fields.

Every option is a field, with its default and its help text; the CLI's flags are made from the
fields (launcher/cli/base.py), and Python callers and the Airflow operator build the same models.
Layers merge in one order for every family:

    defaults < config file (ddb-s3.toml: [default], then [profiles.NAME]) < DDB_S3_<NAME> < flags

A config key or variable applies to every command that has a field of that name, so
`expected_bucket_owner` in [default] reaches export, verify, download, restore and convert alike.
Fields that name what one run acts on (a restore's target table, a command's paths) come from the
command line only (FLAG_ONLY): a [default] `table` for exports must never pick a restore's target.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.config import JsonDict

from launcher.backends import misplaced_options
from launcher.core.errors import BadInput
from launcher.core.hive_columns import HiveColumn, parse_hive_columns
from launcher.core.s3uri import S3Uri
from launcher.core.versions import DEFAULT_RELEASE

_TABLE_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,255}$")
_CLUSTER_ID = re.compile(r"^j-[A-Z0-9]{1,255}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_GLUE_JOB = re.compile(r"^[\w.:+=@-][\w .:+=@-]{0,254}$")
_APPLICATION_ID = re.compile(r"^[0-9a-z]{1,64}$")
# A role: its name (taken at the path "/"), or its ARN, whose path is "/" or /segments/ (console-made
# EMR Serverless and Glue roles live under /service-role/); IAM API reference, RoleName and Path.
_ROLE = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}|[\w+=,.@-]{1,64})$")
_INSTANCE_PROFILE = re.compile(r"^(arn:aws[a-z-]*:iam::\d{12}:instance-profile/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}|[\w+=,.@-]{1,128})$")
FLAG_ONLY: JsonDict = {"flag_only": True}  # json_schema_extra of a field that no config file or variable sets

Engine = Literal["spark", "hive", "native", "python", "auto"]
Reader = Literal["connector", "segments"]
RunnerName = Literal["local", "emr", "emr-serverless", "glue", "auto"]
WorkerType = Literal["G.1X", "G.2X", "G.4X", "G.8X"]

OptionsT = TypeVar("OptionsT", bound="Options")


def defaulted(text: str, default: object) -> str:
    """A help text with its default marked as click marks the defaults it shows: `[default: x]`."""
    return f"{text}  [default: {default}]"


class Options(BaseModel):
    """Fields every command that touches AWS shares."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    families: ClassVar[list[type[Options]]] = []

    region: str | None = Field(None, description=defaulted("AWS region", "the standard boto3 chain"))
    expected_bucket_owner: str | None = Field(
        None, description="account id that must own the bucket (ExpectedBucketOwner on every S3 call)"
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Options.families.append(cls)

    @field_validator("expected_bucket_owner")
    @classmethod
    def _account(cls, v: str | None) -> str | None:
        if v is not None and not _ACCOUNT.match(v):
            raise ValueError("must be a 12-digit AWS account id")
        return v

    @classmethod
    def layered_fields(cls) -> list[str]:
        return [
            n for n, f in cls.model_fields.items() if not (isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("flag_only"))
        ]

    @classmethod
    def build(
        cls: type[OptionsT],
        flags: dict[str, Any],
        *,
        config_path: Path | None = None,
        profile: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> OptionsT:
        """Merge the layers and validate; a bad value becomes one BadInput line naming the option where
        it was set (the flag, the DDB_S3_* variable, or the config file's key)."""
        environ = dict(os.environ) if environ is None else environ
        layered = cls.layered_fields()
        merged: dict[str, Any] = {}
        origin: dict[str, str] = {}
        config = load_config_file(config_path, profile, environ)
        config_file = config_file_path(config_path, environ)
        for name in (k for k in config if k in layered):
            merged[name], origin[name] = config[name], f"{name} in {config_file}"
        for name in (n for n in layered if "DDB_S3_" + n.upper() in environ):
            merged[name], origin[name] = environ["DDB_S3_" + name.upper()], "DDB_S3_" + name.upper()
        for name in (k for k, v in flags.items() if v is not None):
            merged[name], origin[name] = flags[name], flag(name)
        try:
            return cls(**merged)
        except ValidationError as e:
            raise BadInput(one_line(e, origin)) from None


def flag(name: str) -> str:
    """A field's command-line flag: read_percent -> --read-percent."""
    return "--" + name.replace("_", "-")


def config_file_path(path: Path | None, environ: dict[str, str] | None = None) -> Path:
    """The config file read: --config, else $DDB_S3_CONFIG, else ./ddb-s3.toml."""
    return path or Path((os.environ if environ is None else environ).get("DDB_S3_CONFIG", "ddb-s3.toml"))


def load_config_file(path: Path | None, profile: str | None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """[default] then [profiles.<profile>] of a TOML file; a missing default file is no error.
    A key that no command knows is an error (a typo must not pass silently)."""
    explicit = path is not None
    path = config_file_path(path, environ)
    if not path.exists():
        if explicit or profile:
            raise BadInput(f"config file {path} not found")
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"config file {path} is not valid TOML: {e}") from None
    sections = sorted(set(data) - {"default", "profiles"})
    if sections:  # e.g. [defaults]: its options would be dropped without a word
        raise BadInput(
            f"config file {path}: unknown section(s) {', '.join(f'[{s}]' for s in sections)}; it takes [default] and [profiles.NAME]"
        )
    layer = dict(data.get("default", {}))
    if profile:
        profiles = data.get("profiles", {})
        if profile not in profiles:
            raise BadInput(f"profile {profile!r} not found in {path} (have: {', '.join(sorted(profiles)) or 'none'})")
        layer.update(profiles[profile])
    known = {name for family in Options.families for name in family.layered_fields()}
    unknown = sorted(set(layer) - known)
    if unknown:
        raise BadInput(f"config file {path}: unknown option(s) {', '.join(unknown)}")
    return layer


def one_line(e: ValidationError, origin: dict[str, str] | None = None) -> str:
    """The first error, naming the option as `origin` says it was set (default: its flag)."""
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "request"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"{flag(loc)} is required"
    if loc == "request":
        return msg
    field = str(err["loc"][0])
    return f"{(origin or {}).get(field, flag(loc))}: {msg} (got {err.get('input')!r})"


def parse_time(text: str | None, what: str) -> datetime | None:
    """An ISO-8601 time; one without a zone is UTC."""
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{what} {text!r} is not an ISO-8601 time like 2024-05-27T06:00:00Z") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _fraction(v: float) -> float:
    """A share of a table's capacity, as the connector's dynamodb.*.percent: a fraction, not percent."""
    if not (0 < v <= 1.5):
        hint = f" (did you mean {v / 100:g}?)" if 1.5 < v <= 150 else ""
        raise ValueError(f"must be a fraction of the capacity in (0, 1.5]: 0.05 is 5%, 1 is 100%{hint}")
    return v


def _at_least_one(v: int) -> int:
    if v < 1:
        raise ValueError("must be at least 1")
    return v


def _seconds(v: float) -> float:
    if not (0.1 <= v <= 3600):
        raise ValueError("must be between 0.1 and 3600 seconds")
    return v


def _utc_time(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    try:
        parsed = parse_time(str(v), "time")
    except BadInput:
        raise ValueError("is not an ISO-8601 time like 2024-05-27T06:00:00Z") from None
    assert parsed is not None
    return parsed


def _hive_columns(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return parse_hive_columns(v)
        except BadInput as e:
            raise ValueError(str(e).removeprefix("--hive-columns: ")) from None
    return v


Fraction = Annotated[float, AfterValidator(_fraction)]  # of a table's capacity
UtcTime = Annotated[datetime, BeforeValidator(_utc_time)]  # ISO-8601 text, parsed once; no zone is UTC
HiveColumns = Annotated[list[HiveColumn], BeforeValidator(_hive_columns)]  # "attribute:hivetype,...", parsed once
Seconds = Annotated[float, AfterValidator(_seconds)]
Count = Annotated[int, AfterValidator(_at_least_one)]


def table_name(v: str) -> str:
    """DynamoDB's rule for a table name (CreateTable's TableName pattern and length)."""
    if not _TABLE_NAME.match(v):
        raise ValueError("must be 3-255 characters of a-z A-Z 0-9 _ . -")
    return v


# --------------------------------------------------------------------------- export


class ExportRequest(Options):
    table: str = Field(description="DynamoDB table name")
    to: str = Field(description="destination, s3://bucket/prefix; the export lands under <prefix>/AWSDynamoDB/<export-id>/")
    engine: Engine = Field(
        "spark",
        description="spark | hive | native | python (runner local: in this process, no JVM) | auto (native with PITR; "
        "python for a small table on the local runner; else spark)",
    )
    reader: Reader = Field("connector", description="spark reader: connector (DynamoDBInputFormat) | segments (boto3 parallel Scan)")
    read_percent: Fraction = Field(0.5, description="fraction of the table's read capacity to use: 0.5 is 50%, in (0, 1.5]")
    consistent_read: bool = Field(False, description="strongly consistent Scan (reader segments only; costs twice the read units)")
    segments: int | None = Field(None, description=defaulted("parallel scan segments", "from table size and read budget"))
    on_demand_read_units: Count = Field(40000, description="read units assumed for an on-demand table (the connector's convention)")
    max_items_per_file: Count = Field(100_000, description="rotate data files after this many items")
    runner: RunnerName = Field(
        "local", description="local (Spark here) | emr | emr-serverless | glue | auto (the plan picks one and says why)"
    )
    sse: Literal["AES256", "aws:kms"] | None = Field(None, description="server-side encryption for every object written")
    sse_kms_key_id: str | None = Field(None, description="KMS key for sse=aws:kms")
    # EMR settings (used by runner=emr and by `render`).
    cluster: str = Field("transient", description="transient (start, export, terminate) or an existing cluster id j-...")
    release_label: str = Field(DEFAULT_RELEASE, description="EMR release label")
    instance_type: str = Field("m5.xlarge", description="EMR instance type for master and core nodes")
    core_nodes: Count = Field(2, description="number of EMR core nodes")
    spot: bool = Field(False, description="run core nodes on Spot")
    log_uri: str | None = Field(None, description="S3 URI for EMR logs (needed to show a failed step's stderr)")
    service_role: str = Field("EMR_DefaultRole", description="EMR service role, a name (path /) or its ARN (a role under a path)")
    instance_profile: str = Field("EMR_EC2_DefaultRole", description="EC2 instance profile of the cluster, a name or its ARN")
    subnet_id: str | None = Field(None, description="EC2 subnet for the cluster")
    max_hours: float | None = Field(
        None,
        description=defaulted(
            "runner emr, transient cluster: the cluster shuts itself down after this many hours whatever runs; "
            "runner emr-serverless, glue: the job run's timeout",
            "3 times the estimate, at least 1",
        ),
    )
    poll_seconds: Seconds = Field(30.0, description="runner emr, engine native: seconds between status polls")
    max_wait_seconds: Seconds | None = Field(
        None,
        description="cloud runners, engine native: stop waiting after this many seconds (what the run created is ended; "
        "a native export keeps running); default: no limit, engine native 24 hours",
    )
    idle_timeout: int = Field(3600, description="AutoTerminationPolicy IdleTimeout in seconds (a safety net)")
    artifacts_uri: str | None = Field(None, description=defaulted("S3 prefix for the run's uploaded artifacts", "<to>/_ddb_s3_artifacts"))
    hive_columns: HiveColumns | None = Field(
        None,
        description="engine hive: typed-column form, comma-separated attribute:hivetype "
        "(string bigint double boolean binary array<string> array<bigint> array<double> array<binary>); "
        "default: the whole item as one map<string,string> column",
    )
    # EMR Serverless settings (runner emr-serverless).
    application_id: str | None = Field(
        None, description=defaulted("runner emr-serverless: an existing application to run on", "create one for the run, delete it after")
    )
    execution_role: str = Field(
        "ddb-s3-serverless-job",
        description="runner emr-serverless: the job runtime role (a role name in this account, taken at the path /, or its ARN)",
    )
    workers: Count = Field(
        2, description="runner emr-serverless: Spark executors (4 vCPU, 16 GB each); runner glue: NumberOfWorkers (the driver is one)"
    )
    # Glue settings (runner glue).
    worker_type: WorkerType = Field("G.1X", description="runner glue: G.1X (1 DPU: 4 vCPU, 16 GB) | G.2X | G.4X | G.8X")
    glue_job: str | None = Field(
        None, description=defaulted("runner glue: an existing Glue job to update and run", "create one for the run, delete it after")
    )
    glue_role: str = Field(
        "ddb-s3-glue-job", description="runner glue: the job's IAM role (a role name in this account, taken at the path /, or its ARN)"
    )
    keep: bool = Field(False, description="runner glue: keep the Glue job created for the run (to look at it or run it again)")
    # engine=native incremental export (ExportTableToPointInTime INCREMENTAL_EXPORT): a time window.
    export_from: UtcTime | None = Field(None, description="engine native: incremental export from this ISO-8601 time (inclusive)")
    export_to: UtcTime | None = Field(
        None, description="engine native: incremental export up to this ISO-8601 time (exclusive; default: now)"
    )
    as_of: str | None = Field(
        None,
        description="the table exactly as it was at this moment: 'start' (the export's start, to the second) or a past UTC "
        "ISO-8601 time to the second; reads the table's stream (NEW_AND_OLD_IMAGES, kept 24 hours) besides the Scan (docs/as-of.md)",
    )
    incremental_since: str | None = Field(
        None,
        description="with --as-of: only the changes since an earlier --as-of export of this table (its s3:// URI, or 'latest' "
        "under --to), in DynamoDB's incremental export format",
    )
    stream_wait_seconds: Seconds = Field(
        6 * 3600.0,
        description="--as-of: how long to wait for each stream shard to pass the window's end (a quiet open shard proves "
        "nothing until it closes; AWS rolls shards over about every 4 hours)",
    )
    connector_version: str | None = Field(
        None,
        description="install this emr-dynamodb-hadoop version from Maven Central at bootstrap instead of the release's own (e.g. 5.0.0)",
    )
    python_packages: str | None = Field(
        None, description="pip requirements installed on every EMR node at bootstrap, comma-separated and pinned (e.g. boto3==1.44.5)"
    )

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        return table_name(v)

    @field_validator("to", "log_uri", "artifacts_uri")
    @classmethod
    def _s3(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                S3Uri.parse(v)
            except BadInput as e:
                raise ValueError(str(e)) from None
        return v

    @field_validator("to")
    @classmethod
    def _not_inside_an_export(cls, v: str) -> str:
        # Exports land under <prefix>/AWSDynamoDB/<id>/: a --to at or below an AWSDynamoDB/ folder would
        # nest an export inside another one, which `exports list` and prune then misread.
        key = S3Uri.parse(v).key
        parts = key.split("/")
        if "AWSDynamoDB" in parts:
            prefix = "/".join(parts[: parts.index("AWSDynamoDB")])
            raise ValueError(
                f"at or inside an exports folder (AWSDynamoDB/): give the prefix above it, s3://{S3Uri.parse(v).bucket}/{prefix}"
            )
        return v

    @field_validator("as_of")
    @classmethod
    def _as_of(cls, v: str | None) -> str | None:
        if v is None or v == "start":
            return v
        at = _utc_time(v)  # ValueError: not ISO-8601
        if at.microsecond:
            raise ValueError("must be 'start' or a time to the whole second (the stream stamps its records to the second)")
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @field_validator("connector_version")
    @classmethod
    def _connector_version(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+\.\d+\.\d+", v):
            raise ValueError("must be a release version like 5.0.0")
        return v

    @field_validator("python_packages")
    @classmethod
    def _python_packages(cls, v: str | None) -> str | None:
        # Pinned requirements only: they reach a shell script's arguments, so nothing else passes.
        for req in (v or "").split(","):
            if v is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,-]+\])?==[A-Za-z0-9.+!-]+", req.strip()):
                raise ValueError("must be comma-separated pinned requirements like boto3==1.44.5")
        return v

    @field_validator("application_id")
    @classmethod
    def _application_id(cls, v: str | None) -> str | None:
        if v is not None and not _APPLICATION_ID.match(v):
            raise ValueError("must be an EMR Serverless application id like 00fabc123def4g09")
        return v

    @field_validator("glue_job")
    @classmethod
    def _glue_job(cls, v: str | None) -> str | None:
        if v is not None and not _GLUE_JOB.match(v):
            raise ValueError("must be a Glue job name (1-255 letters, digits, spaces and _ . : + = @ -)")
        return v

    @field_validator("execution_role", "glue_role", "service_role")
    @classmethod
    def _execution_role(cls, v: str) -> str:
        if not _ROLE.match(v):
            raise ValueError("must be an IAM role name (taken at the path /) or a role ARN (arn:aws:iam::<account>:role/<path/><name>)")
        return v

    @field_validator("instance_profile")
    @classmethod
    def _instance_profile(cls, v: str) -> str:
        if not _INSTANCE_PROFILE.match(v):
            raise ValueError("must be an instance profile name or ARN (arn:aws:iam::<account>:instance-profile/<path/><name>)")
        return v

    @field_validator("idle_timeout")
    @classmethod
    def _idle_timeout(cls, v: int) -> int:
        if not (60 <= v <= 604800):
            raise ValueError("must be between 60 and 604800 seconds (EMR AutoTerminationPolicy)")
        return v

    @field_validator("max_hours")
    @classmethod
    def _max_hours(cls, v: float | None) -> float | None:
        if v is not None and not (0 < v <= 168):
            raise ValueError("must be in (0, 168] hours")
        return v

    @field_validator("segments")
    @classmethod
    def _segments(cls, v: int | None) -> int | None:
        if v is not None and not (1 <= v <= 1_000_000):
            raise ValueError("must be between 1 and 1000000")
        return v

    @field_validator("cluster")
    @classmethod
    def _cluster(cls, v: str) -> str:
        if v != "transient" and not _CLUSTER_ID.match(v):
            raise ValueError("must be 'transient' or a cluster id like j-1ABCDEF")
        return v

    @model_validator(mode="after")
    def _combinations(self) -> ExportRequest:
        if self.consistent_read and self.reader != "segments":
            raise ValueError("--consistent-read needs --reader segments (the connector cannot do ConsistentRead)")
        if (self.export_from or self.export_to) and self.engine not in ("native", "auto"):
            raise ValueError("--export-from/--export-to are for the native engine's incremental export (--engine native)")
        if self.export_to and not self.export_from:
            raise ValueError("--export-to needs --export-from (an incremental export is a time window)")
        if self.export_from and self.export_to and self.export_to <= self.export_from:
            raise ValueError("--export-to must be after --export-from")
        if (self.as_of or self.incremental_since) and (self.engine in ("native", "hive") or self.export_from):
            raise ValueError("--as-of reads a Scan and the table's stream: it needs --engine spark or python (or auto)")
        if self.as_of and self.reader != "segments" and "reader" in self.model_fields_set:
            raise ValueError("--as-of reads with --reader segments (the connector's items cannot be matched to the stream by key)")
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ValueError("--sse-kms-key-id needs --sse aws:kms")
        if self.cluster != "transient" and (self.connector_version or self.python_packages):
            raise ValueError(
                "--connector-version and --python-packages are installed by bootstrap actions, which only a "
                "cluster ddb-s3 starts runs: use --cluster transient, or install them on your cluster"
            )
        if self.runner in ("emr-serverless", "glue") and (self.connector_version or self.python_packages):
            raise ValueError("--connector-version and --python-packages are EMR bootstrap actions: use --runner emr")
        if self.runner == "glue" and self.workers < 2:
            raise ValueError("--workers: a Glue job needs at least 2 workers (one is the driver)")
        if self.runner in ("emr-serverless", "glue") and self.engine == "hive":
            raise ValueError("--engine hive runs on EMR clusters only: use --runner emr, or --engine spark")
        for name, runners in misplaced_options(self.runner, self.model_fields_set):  # the backends' own options
            flag = "--" + name.replace("_", "-")
            raise ValueError(f"{flag} is for --runner {' or '.join(runners)}, not {self.runner}: drop it, or use that runner")
        return self

    @property
    def destination(self) -> S3Uri:
        return S3Uri.parse(self.to, "destination")


def build_request(
    flags: dict[str, Any], *, config_path: Path | None = None, profile: str | None = None, environ: dict[str, str] | None = None
) -> ExportRequest:
    """ExportRequest.build: the export's layers (kept as the name Python callers know)."""
    return ExportRequest.build(flags, config_path=config_path, profile=profile, environ=environ)


# --------------------------------------------------------------------------- what happens to an export


class ExportSourceOptions(Options):
    """Every command that reads an export: `.../latest` under a prefix that holds exports of several
    tables needs the table named (`exports show --table` is the same choice)."""

    source_table: Annotated[str, AfterValidator(table_name)] | None = Field(
        None,
        description="for s3://.../latest under a prefix with exports of several tables: the table whose newest complete export to read",
        json_schema_extra=FLAG_ONLY,
    )


class VerifyOptions(ExportSourceOptions):
    """`ddb-s3 verify`: where the bucket is, who owns it, and how deep to look."""

    deep: bool = Field(False, description="read and parse every line (without it, on S3: compare the checksums S3 stores, read no data)")


class DownloadOptions(ExportSourceOptions):
    concurrency: Count = Field(8, description="parallel transfers (s3transfer threads)")


class RestoreOptions(ExportSourceOptions):
    table: Annotated[str, AfterValidator(table_name)] = Field(description="table to write into", json_schema_extra=FLAG_ONLY)
    overwrite: bool = Field(False, description="overwrite existing items (BatchWriteItem); default: never overwrite")
    write_percent: Fraction = Field(
        0.5, description="fraction of the table's write capacity to use (on-demand: of --on-demand-write-units): 0.5 is 50%, in (0, 1.5]"
    )
    on_demand_write_units: Count = Field(40000, description="write units assumed for an on-demand table (the connector's convention)")
    create_table: bool = Field(False, description="create the table from the export's recorded schema if it does not exist")
    skipped_keys_file: Path | None = Field(
        None, description="write the keys not restored because they exist with other values here (JSON lines)", json_schema_extra=FLAG_ONLY
    )
    checkpoint: Path | None = Field(
        None,
        description=defaulted(
            "progress file: running the same restore again resumes it", "one per export and table in ~/.cache/ddb-s3/restores"
        ),
        json_schema_extra=FLAG_ONLY,
    )
    concurrency: Count = Field(8, description="writer threads")
    force: bool = Field(False, description="restore into a non-empty table other than the one exported")
    fail_on_skip: bool = Field(False, description="exit 4 when keys were skipped (without it: exit 0 and report the count)")
    verify: bool = Field(True, description="verify checksums and counts before writing")


class ConvertOptions(ExportSourceOptions):
    format: Literal["jsonl", "csv", "parquet"] = Field(description="output format", json_schema_extra=FLAG_ONLY)
    out: str = Field(description="output file (local path, or s3://bucket/key)", json_schema_extra=FLAG_ONLY)
    columns: str | None = Field(
        None, description=defaulted("comma-separated attribute names", "the union of all"), json_schema_extra=FLAG_ONLY
    )
    glue_database: str | None = Field(None, description="register the Parquet output in this Glue database (needs an s3:// --out)")
    glue_table: str | None = Field(None, description="Glue table name for --glue-database", json_schema_extra=FLAG_ONLY)
