"""The job's artifacts in S3: each rendered file (the job script, the Hive DDL, the bootstrap
actions) and each local file (the helper jar) put under the export's artifacts root, one PutObject
each (so there is no multipart upload to abort), with the plan's SSE and ExpectedBucketOwner. Every
runner's hook holds one (`hook.artifacts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launcher.aws.errors import translated
from launcher.aws.session import Aws
from launcher.core.s3args import S3WriteSettings
from launcher.core.s3uri import S3Uri


class ArtifactStore:
    def __init__(self, s3: Any, settings: S3WriteSettings | None = None) -> None:
        """`s3`: an S3 client, or an Aws whose S3 client is made on first use."""
        self._aws: Aws | None = s3 if isinstance(s3, Aws) else None
        self._s3: Any = None if isinstance(s3, Aws) else s3
        self.settings = settings or S3WriteSettings()

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            assert self._aws is not None
            self._s3 = self._aws.client("s3")
        return self._s3

    def upload(self, root: str, files: dict[str, str | bytes], local_files: dict[str, Path]) -> list[str]:
        """Put each rendered file and each local file under `root`; return their URIs, in that order."""
        base = S3Uri.parse(root, "artifacts")
        items: list[tuple[str, bytes]] = [(n, c if isinstance(c, bytes) else c.encode()) for n, c in files.items()]
        items += [(n, p.read_bytes()) for n, p in local_files.items()]
        uris = []
        for name, body in items:
            key = f"{base.key.rstrip('/')}/{name}" if base.key.strip("/") else name
            with translated(f"upload of artifact s3://{base.bucket}/{key}"):
                self.s3.put_object(Bucket=base.bucket, Key=key, Body=body, **self.settings.write_args())
            uris.append(f"s3://{base.bucket}/{key}")
        return uris
