"""An Airflow connection as the launcher's Aws session (the Amazon provider is not needed).

Read as the Amazon provider's `aws` connection type reads it: login/password are the access key id
and secret, the extra may hold `aws_session_token`, `region_name`, `profile_name`, `endpoint_url`
(every service) and `service_config: {"<service>": {"endpoint_url": ...}}`. No connection id: the
worker's standard boto3 chain, as the CLI uses."""

from __future__ import annotations

from typing import Any

from launcher.aws.session import Aws


def aws_from_connection(conn: Any, region: str | None = None) -> Aws:
    """Aws from an Airflow Connection object; `region` (the export's own option) wins over the extra's."""
    extra: dict[str, Any] = conn.extra_dejson or {}
    credentials: dict[str, str] = {}
    if conn.login:
        credentials["aws_access_key_id"] = conn.login
    if conn.password:
        credentials["aws_secret_access_key"] = conn.password
    if extra.get("aws_session_token"):
        credentials["aws_session_token"] = extra["aws_session_token"]
    if extra.get("profile_name"):
        credentials["profile_name"] = extra["profile_name"]
    endpoints: dict[str, str] = {}
    if extra.get("endpoint_url"):
        endpoints["*"] = extra["endpoint_url"]
    for service, conf in (extra.get("service_config") or {}).items():
        if isinstance(conf, dict) and conf.get("endpoint_url"):
            endpoints[service] = conf["endpoint_url"]
    return Aws(region or extra.get("region_name") or None, credentials=credentials or None, endpoint_urls=endpoints)


def get_aws(aws_conn_id: str | None, region: str | None = None) -> Aws:
    """From the Airflow connection `aws_conn_id`, or the environment when it is None (sync: worker side)."""
    if not aws_conn_id:
        return Aws(region)
    from airflow.sdk import BaseHook

    return aws_from_connection(BaseHook.get_connection(aws_conn_id), region)


async def aget_aws(aws_conn_id: str | None, region: str | None = None) -> Aws:
    """The same, in a trigger's event loop."""
    if not aws_conn_id:
        return Aws(region)
    from airflow.sdk import BaseHook

    return aws_from_connection(await BaseHook.aget_connection(aws_conn_id), region)
