"""A fault-injecting HTTP proxy for the local stack.

One `FaultProxy` listens on a free loopback port and forwards every request to one upstream server
(dynalite or the moto server), unchanged: same method, path, headers (Host included, so signatures
and moto's bucket addressing see exactly what the client sent) and body. A `FaultPlan` (seeded,
thread-safe) decides per request whether to inject a fault instead:

    DynamoDB   ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded
               (HTTP 400, application/x-amz-json-1.0, the real `__type` strings), InternalServerError (500)
    S3         SlowDown (503), InternalError (500), as S3's XML error document
               AccessDenied (403) for a request whose ExpectedBucketOwner is not `plan.bucket_owner`
    both       drop      close the connection before the server sees the request
               drop_after forward, then close without answering (the server did the work)
               slow      wait `delay` seconds, then forward

It records every request it saw (service, operation, path, headers, and the bodies of API calls: not
S3 object data) and counts what it injected, so tests can prove that faults really happened and check
headers on the wire (SSE, ExpectedBucketOwner, credentials). `emr` proxies the EMR API (an
X-Amz-Target JSON API like DynamoDB) for tests/iam, which records calls with no faults; there an
`answer` callable may reply in place of the upstream (e.g. DynamoDB's export API, which dynalite
lacks). Stdlib only; nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}

DDB_ERRORS = {
    "ProvisionedThroughputExceededException": (
        400,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    ),
    "ThrottlingException": (400, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the allowed throughput."),
    "RequestLimitExceeded": (
        400,
        "com.amazonaws.dynamodb.v20120810#RequestLimitExceeded",
        "Throughput exceeds the current throughput limit for your account.",
    ),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
}
S3_ERRORS = {
    "SlowDown": (503, "Please reduce your request rate."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
}
KINDS = set(DDB_ERRORS) | set(S3_ERRORS) | {"drop", "drop_after", "slow"}


def dynamodb_operation(headers: dict[str, str]) -> str:
    """`X-Amz-Target: DynamoDB_20120810.Scan` -> 'Scan' (EMR's `ElasticMapReduce.RunJobFlow` alike)."""
    return headers.get("x-amz-target", "").rpartition(".")[2] or "?"


def s3_operation(method: str, path: str) -> str:
    """The S3 API operation of a path-style request (what moto and our clients use on loopback)."""
    parts = urlsplit(path)
    q = parse_qs(parts.query, keep_blank_values=True)
    segs = [s for s in parts.path.split("/") if s]
    is_object = len(segs) >= 2
    if method == "PUT":
        if "partNumber" in q:
            return "UploadPart"
        return "PutObject" if is_object else ("PutBucket" + next(iter(q), "").title() if q else "CreateBucket")
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
        return "DeleteObjects" if "delete" in q else "Post"
    if method == "DELETE":
        if "uploadId" in q:
            return "AbortMultipartUpload"
        return "DeleteObject" if is_object else "DeleteBucket"
    if method == "HEAD":
        return "HeadObject" if is_object else "HeadBucket"
    if method == "GET":
        if is_object:
            return "GetObject"
        if q.get("list-type") == ["2"]:
            return "ListObjectsV2"
        if "versions" in q:
            return "ListObjectVersions"
        return "ListObjects" if segs else "ListBuckets"
    return method


@dataclass
class Rule:
    """Inject `kind` into matching requests. A request matches when its service is `service`, its
    operation is in `ops` (None: any) and `path` (a regex, None: any) is found in its path. Of the
    matching requests the first `after` pass; then every `every`-th one is a candidate, injected
    with `probability` (drawn from the plan's seeded RNG) until `times` injections (None: no limit)."""

    service: str
    kind: str
    ops: Iterable[str] | None = None
    path: str | None = None
    after: int = 0
    every: int = 1
    times: int | None = None
    probability: float = 1.0
    delay: float = 1.0
    matched: int = 0
    injected: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if (self.kind in DDB_ERRORS and self.service != "dynamodb") or (self.kind in S3_ERRORS and self.service != "s3"):
            raise ValueError(f"{self.kind} is not a {self.service} error")
        self.ops = frozenset(self.ops) if self.ops is not None else None
        self._path = re.compile(self.path) if self.path else None

    def matches(self, service: str, op: str, path: str) -> bool:
        return service == self.service and (self.ops is None or op in self.ops) and (self._path is None or bool(self._path.search(path)))


@dataclass
class Seen:
    service: str
    op: str
    method: str
    path: str
    headers: dict[str, str]
    fault: str | None
    status: int | None = None
    body: bytes = b""  # the request body, except S3 object data (PUT)
    response: bytes = b""  # the upstream's response body (JSON APIs only, not S3)
    at: float = field(default_factory=time.monotonic)  # when the proxy received it
    consumed: float | None = None  # a DynamoDB answer's ConsumedCapacity.CapacityUnits, if any


@dataclass
class FaultPlan:
    seed: int = 0
    rules: list[Rule] = field(default_factory=list)
    # When set, S3 requests whose ExpectedBucketOwner names another account get S3's 403
    # AccessDenied, which moto does not do itself.
    bucket_owner: str | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self.injected: Counter[tuple[str, str, str]] = Counter()  # (service, op, kind)
        self.seen: list[Seen] = []

    def add(self, *rules: Rule) -> FaultPlan:
        with self._lock:
            self.rules.extend(rules)
        return self

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def decide(self, service: str, op: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[Rule | None, Seen]:
        with self._lock:
            chosen = None
            for rule in self.rules:
                if not rule.matches(service, op, path):
                    continue
                rule.matched += 1
                n = rule.matched - rule.after
                if n <= 0 or n % rule.every or (rule.times is not None and rule.injected >= rule.times):
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.injected += 1
                self.injected[(service, op, rule.kind)] += 1
                chosen = rule
                break
            seen = Seen(
                service,
                op,
                method,
                path,
                headers,
                chosen.kind if chosen else None,
                body=b"" if service == "s3" and method == "PUT" else body,
            )
            self.seen.append(seen)
            return chosen, seen

    def total(self, kind: str | None = None, service: str | None = None, op: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (s, o, k), n in self.injected.items()
                if (kind is None or k == kind) and (service is None or s == service) and (op is None or o == op)
            )

    def requests(self, service: str | None = None, op: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.seen if (service is None or r.service == service) and (op is None or r.op == op)]

    def describe(self) -> str:
        with self._lock:
            return ", ".join(f"{s}.{o} {k} x{n}" for (s, o, k), n in sorted(self.injected.items())) or "nothing"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection's thread ends after this
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        op = dynamodb_operation(headers) if proxy.service in ("dynamodb", "emr") else s3_operation(self.command, self.path)
        rule, seen = proxy.plan.decide(proxy.service, op, self.command, self.path, headers, body)
        kind = rule.kind if rule else None
        if kind == "drop":
            return self._drop()
        if kind in DDB_ERRORS:
            status, type_, msg = DDB_ERRORS[kind]
            seen.status = status
            return self._reply(
                status,
                [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", uuid.uuid4().hex)],
                json.dumps({"__type": type_, "message": msg}).encode(),
            )
        if kind in S3_ERRORS:
            status, msg = S3_ERRORS[kind]
            rid = uuid.uuid4().hex[:16].upper()
            xml = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{kind}</Code><Message>{msg}</Message>'
                f"<RequestId>{rid}</RequestId><HostId>fault-proxy</HostId></Error>"
            ).encode()
            seen.status = status
            return self._reply(status, [("Content-Type", "application/xml"), ("x-amz-request-id", rid)], xml)
        owner = headers.get("x-amz-expected-bucket-owner")
        if proxy.service == "s3" and proxy.plan.bucket_owner and owner and owner != proxy.plan.bucket_owner:
            seen.status = 403
            xml = (
                b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                b"<Message>Access Denied</Message><HostId>fault-proxy</HostId></Error>"
            )
            return self._reply(403, [("Content-Type", "application/xml")], xml)
        if kind == "slow":
            time.sleep(rule.delay)
        answered = proxy.answer(seen) if proxy.answer and kind is None else None
        if answered is not None:
            status, resp_headers, resp_body = answered
        else:
            status, resp_headers, resp_body = proxy.forward(self.command, self.path, list(self.headers.items()), body)
        seen.status = status
        if proxy.service != "s3":
            seen.response = resp_body
        if proxy.service == "dynamodb" and status == 200 and b'"ConsumedCapacity"' in resp_body:
            cc = json.loads(resp_body)["ConsumedCapacity"]  # a list for batch calls
            seen.consumed = sum(c.get("CapacityUnits", 0.0) for c in (cc if isinstance(cc, list) else [cc]))
        if kind == "drop_after":
            return self._drop()
        self._reply(status, resp_headers, resp_body)

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response_only(status)
        has_length = False
        for k, v in headers:
            if k.lower() in HOP_BY_HOP:
                continue
            if k.lower() == "content-length":
                if self.command != "HEAD":
                    continue
                has_length = True
            self.send_header(k, v)
        if not has_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    def _drop(self) -> None:
        """Reset the connection without a byte of response (SO_LINGER 0 sends RST)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy


class FaultProxy:
    """A proxy for one service in front of one upstream URL; `with FaultProxy(...) as p: p.url`."""

    def __init__(
        self,
        service: str,
        upstream: str,
        plan: FaultPlan,
        answer: Callable[[Seen], tuple[int, list[tuple[str, str]], bytes] | None] | None = None,
    ):
        if service not in ("dynamodb", "s3", "emr"):
            raise ValueError(f"unknown service {service!r}")
        # answer(seen) -> (status, headers, body) replies instead of the upstream; None forwards.
        self.service, self.plan, self.answer = service, plan, answer
        up = urlsplit(upstream)
        if up.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"upstream {upstream} is not a loopback address")
        self.upstream_host, self.upstream_port = up.hostname, up.port or 80
        self._server = _Server((HOST, 0), _Handler)
        self._server.proxy = self
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"fault-proxy-{self.service}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list, bytes]:
        """Send the request upstream on this handler thread's keep-alive connection (one retry if
        the upstream closed an idle connection), return status, headers and the whole body."""
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = self._local.conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    if k.lower() in HOP_BY_HOP or k.lower() == "content-length":
                        continue
                    conn.putheader(k, v)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    conn.close()
                    self._local.conn = None
                return resp.status, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
