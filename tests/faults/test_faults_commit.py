"""The commit protocol under S3 faults, in-process and fast: the job's own modules
(launcher.job.s3io / commit) write through the fault proxy to the moto server. Whatever fails, an
export is either complete (summary present, every listed file there and matching: verify passes) or
incomplete (no summary: verify says so); never a summary over missing or wrong files. Also
download through the proxy with GetObject faults."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from faults import FaultPlan, FaultProxy, Rule
from launcher.aws.session import Aws
from launcher.backup.download import download
from launcher.backup.storage import open_location
from launcher.backup.verify import verify
from launcher.core import layout
from launcher.core.codec import item_line, wire_to_json
from launcher.core.errors import IncompleteExport
from launcher.core.s3args import S3WriteSettings
from launcher.dev.sample_data import lab_items
from launcher.job import commit, s3io

pytestmark = pytest.mark.integration
FEW_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 3})


@pytest.fixture
def proxy(local_stack):
    plan = FaultPlan(seed=99)
    with FaultProxy("s3", local_stack.s3_endpoint, plan) as p:
        yield p


def client(proxy, config=FEW_RETRIES):
    return boto3.client("s3", endpoint_url=proxy.url, config=config)


def lines(n: int, seed: int = 3) -> list[str]:
    return [item_line(wire_to_json(i)) for i in lab_items(n, seed=seed)]


def write_export(s3, bucket: str, prefix: str, n: int = 50, per_file: int = 20) -> tuple[str, list[layout.DataFile]]:
    root = layout.export_root(prefix, layout.new_export_id(datetime.now(UTC)))
    commit.write_started(s3, bucket, root, S3WriteSettings())
    files = list(s3io.write_data_files(s3, bucket, root + "data/", 0, lines(n), per_file, S3WriteSettings()))
    return root, files


def summary() -> dict:
    return {"exportId": "x", "tableName": "t", "tableArn": "arn"}


def state(bucket: str, root: str) -> str:
    """'complete' if verify passes, 'incomplete' if verify says there is no backup; anything else fails."""
    try:
        report = verify(open_location(f"s3://{bucket}/{root}"))
    except IncompleteExport:
        return "incomplete"
    assert report.ok, f"a summary over bad files: {report.problems}"
    return "complete"


def test_summary_write_that_keeps_failing_leaves_an_incomplete_export(proxy, s3, bucket):
    root, files = write_export(s3, bucket, "a")
    proxy.plan.add(Rule("s3", "SlowDown", ops={"PutObject"}, path=r"manifest-summary\.json"))
    with pytest.raises(ClientError, match="SlowDown"):
        commit.commit(client(proxy), bucket, root, files, summary(), S3WriteSettings())
    assert proxy.plan.total("SlowDown") == 3  # every attempt failed
    assert s3.head_object(Bucket=bucket, Key=root + layout.MANIFEST_FILES)  # written before the summary
    assert state(bucket, root) == "incomplete"


def test_manifest_files_write_failing_means_no_summary(proxy, s3, bucket):
    root, files = write_export(s3, bucket, "b")
    proxy.plan.add(Rule("s3", "InternalError", ops={"PutObject"}, path=r"manifest-files\.json"))
    with pytest.raises(ClientError, match="InternalError"):
        commit.commit(client(proxy), bucket, root, files, summary(), S3WriteSettings())
    assert state(bucket, root) == "incomplete"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=root + "manifest-summary")


def test_a_listed_file_that_vanished_blocks_the_commit(proxy, s3, bucket):
    root, files = write_export(s3, bucket, "c")
    s3.delete_object(Bucket=bucket, Key=files[1].dataFileS3Key)
    with pytest.raises(ClientError):
        commit.commit(client(proxy), bucket, root, files, summary(), S3WriteSettings())
    assert state(bucket, root) == "incomplete"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=root + "manifest")


def test_a_listed_file_that_changed_blocks_the_commit(proxy, s3, bucket):
    root, files = write_export(s3, bucket, "d")
    s3.put_object(Bucket=bucket, Key=files[0].dataFileS3Key, Body=b"not what was written")
    with pytest.raises(RuntimeError, match="changed after it was written"):
        commit.commit(client(proxy), bucket, root, files, summary(), S3WriteSettings())
    assert state(bucket, root) == "incomplete"


def test_data_file_write_that_keeps_failing_raises_and_leaves_nothing_listed(proxy, s3, bucket):
    proxy.plan.add(Rule("s3", "SlowDown", ops={"PutObject"}, path=r"/data/", after=1))
    root = layout.export_root("e", "00000000000001-deadbeef")
    with pytest.raises(ClientError, match="SlowDown"):
        list(s3io.write_data_files(client(proxy), bucket, root + "data/", 0, lines(50), 20, S3WriteSettings()))
    assert state(bucket, root) == "incomplete"


def test_intermittent_faults_commit_complete_and_orphans_removed(proxy, s3, bucket):
    """A failed task attempt's file (an orphan, not in the manifest) is removed at commit; 5xx and
    resets on every kind of call are retried; the result is one exact, complete export."""
    root, files = write_export(s3, bucket, "f")
    s3.put_object(Bucket=bucket, Key=root + "data/part-00000-0000-orphan.json.gz", Body=b"partial attempt")
    proxy.plan.add(
        Rule("s3", "SlowDown", ops={"HeadObject"}, every=2),
        Rule("s3", "drop", ops={"ListObjectsV2"}, times=1),
        Rule("s3", "InternalError", ops={"DeleteObject"}, times=1),
        Rule("s3", "drop_after", ops={"PutObject"}, path="manifest", every=2),
    )
    c = client(proxy, Config(retries={"mode": "standard", "max_attempts": 10}))
    done = commit.commit(c, bucket, root, files, summary(), S3WriteSettings())
    assert done["itemCount"] == 50 and done["ddbS3"]["dataFileCount"] == 3
    assert proxy.plan.total() >= 5
    assert state(bucket, root) == "complete"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=root + "data/")["Contents"]}
    assert keys == {f.dataFileS3Key for f in files}


def test_multipart_complete_whose_answer_is_lost_never_gives_a_wrong_manifest(proxy, s3, bucket, monkeypatch):
    """CompleteMultipartUpload succeeds but the answer is lost: botocore retries it; whatever the
    server says then, the data file either lands in the manifest with its true MD5 or the write
    fails and the file is an orphan that the commit removes."""
    monkeypatch.setattr(s3io, "PART_SIZE", 5 * 1024 * 1024)
    proxy.plan.add(Rule("s3", "drop_after", ops={"CompleteMultipartUpload"}, times=1))
    root = layout.export_root("g", "00000000000002-deadbeef")
    big = [
        item_line({"pk": {"S": str(i)}, "blob": {"B": __import__("base64").b64encode(os.urandom(3000)).decode()}}) for i in range(2500)
    ]  # ~10 MB of incompressible text: two parts
    c = client(proxy, Config(retries={"mode": "standard", "max_attempts": 10}))
    try:
        files = list(s3io.write_data_files(c, bucket, root + "data/", 0, big, 10_000, S3WriteSettings()))
    except (ClientError, ConnectionClosedError):
        files = []  # the task attempt failed; Spark would run it again under a new file name
    print("multipart complete with lost answer ->", "written" if files else "write failed")
    assert proxy.plan.total("drop_after") == 1
    if files:
        commit.commit(s3, bucket, root, files, summary(), S3WriteSettings())
        assert state(bucket, root) == "complete"
    else:
        assert state(bucket, root) == "incomplete"


def test_download_through_get_faults_is_complete_and_checked(local_stack, proxy, s3, bucket, tmp_path, monkeypatch):
    root, files = write_export(s3, bucket, "h", n=60)
    commit.commit(s3, bucket, root, files, summary(), S3WriteSettings())
    proxy.plan.add(
        Rule("s3", "SlowDown", ops={"GetObject"}, every=2, times=3),
        Rule("s3", "drop", ops={"GetObject", "HeadObject"}, after=3, times=2),
        Rule("s3", "InternalError", ops={"HeadObject"}, times=1),
        Rule("s3", "slow", ops={"GetObject"}, after=5, times=1, delay=0.3),
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    result = download(f"s3://{bucket}/{root}", tmp_path / "copy", Aws())
    assert result.items == 60 and result.files == 3
    assert proxy.plan.total() >= 5, proxy.plan.describe()
    report = verify(open_location(str(tmp_path / "copy")))
    assert report.ok and report.item_count == 60
