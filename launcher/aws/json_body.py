"""DynamoDB calls sent with a JSON body we built ourselves, and everything else left to botocore
(endpoint, signing, retries, response and error parsing).

Why: an export's item JSON is DynamoDB's own wire JSON (``{"S": ..}``, ``{"B": <base64>}`` ...),
and the codec checked every item as it read it. Turning it into botocore's Python shapes only for
botocore to walk them against the service model and encode them back cost more CPU than reading
the item (a 1 KB item: ~35 µs, ~95 µs with parameter validation); one ``json.dumps`` of the body
costs a few.

How: `send_json_bodies(client, ...)` hooks two documented botocore events per operation. The call
passes the body as the keyword `BODY` (with only the table names as parameters); the
``before-parameter-build`` hook moves it into the call's context, so botocore's serializer never
sees it, and ``before-call`` puts it in place of the body botocore serialized, before the request is
signed. The client must be created with ``parameter_validation=False``: the operation's own
parameters are mostly absent from such a call."""

from __future__ import annotations

import json
from typing import Any

BODY = "DdbS3JsonBody"


def send_json_bodies(client: Any, *operations: str) -> None:
    """Let `operations` (e.g. "BatchWriteItem") of this DynamoDB client take ``BODY=<bytes>``."""
    for op in operations:
        client.meta.events.register(f"before-parameter-build.dynamodb.{op}", _stash_body, unique_id=f"ddb-s3-stash-body-{op}")
        client.meta.events.register(f"before-call.dynamodb.{op}", _use_body, unique_id=f"ddb-s3-use-body-{op}")


def json_body(request: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of a call whose whole request is `request` (API field names, wire JSON
    values): the body, plus the table names, which botocore's endpoint rules read from the parameters."""
    kwargs: dict[str, Any] = {BODY: json.dumps(request, separators=(",", ":")).encode()}
    if "TableName" in request:
        kwargs["TableName"] = request["TableName"]
    if "RequestItems" in request:
        kwargs["RequestItems"] = {key: [] for key in request["RequestItems"]}
    return kwargs


def _stash_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if BODY in params:
        context[BODY] = params.pop(BODY)


def _use_body(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if BODY in context:
        params["body"] = context[BODY]
