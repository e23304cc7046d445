"""`ddb-s3 clusters list` and `ddb-s3 clusters terminate`: see and clean up the EMR clusters the
tool started (those tagged ddb-s3:managed=true)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from launcher.cli.base import aws_profile_option, cli, out, print_table, say, use_aws_profile
from launcher.core.emr import EXPORT_ID_TAG, MANAGED_TAG, TABLE_TAG, TERMINAL_CLUSTER_STATES, tag_dict
from launcher.core.errors import BadInput
from launcher.options import Options

if TYPE_CHECKING:
    from launcher.aws.emr_hook import EmrHook


REGION_HELP = Options.model_fields["region"].description  # as every command that takes --region says it


def _hook(region: str | None) -> EmrHook:
    """Imported when a command runs: `clusters --help` needs no boto3."""
    from launcher.aws.emr_hook import EmrHook
    from launcher.aws.session import Aws

    return EmrHook(Aws(region))


@cli.group()
def clusters() -> None:
    """EMR clusters started by ddb-s3 (tagged ddb-s3:managed=true)."""


@clusters.command("list")
@aws_profile_option
@click.option("--region", default=None, help=REGION_HELP)
@click.option("--all", "all_states", is_flag=True, help="include terminated clusters")
@click.option("--json", "as_json", is_flag=True, help="print one JSON list, as `exports list --json` does")
def list_clusters(region: str | None, all_states: bool, as_json: bool, aws_profile: str | None) -> None:
    """List the clusters ddb-s3 started that are still alive (or all of them with --all)."""
    use_aws_profile(aws_profile)
    hook = _hook(region)
    found = hook.managed_clusters(states=None) if all_states else hook.managed_clusters()
    rows = [
        {"id": c["Id"], "state": c["Status"]["State"], "table": tag_dict(c).get(TABLE_TAG),
         "exportId": tag_dict(c).get(EXPORT_ID_TAG), "name": c.get("Name")}
        for c in found
    ]  # fmt: skip
    if as_json:
        out.print(json.dumps(rows), markup=False)
        return
    if not found:
        say("no clusters started by ddb-s3" + ("" if all_states else " are running"))
        return
    print_table(
        [("cluster", "state", "table", "export id")] + [(r["id"], r["state"], r["table"] or "-", r["exportId"] or "-") for r in rows]
    )


@clusters.command("terminate")
@click.argument("cluster_ids", nargs=-1, required=True)
@aws_profile_option
@click.option("--region", default=None, help=REGION_HELP)
@click.option("--force", is_flag=True, help=f"also terminate a cluster without the {MANAGED_TAG} tag")
def terminate(cluster_ids: tuple[str, ...], region: str | None, force: bool, aws_profile: str | None) -> None:
    """Terminate clusters ddb-s3 started; refuses any other cluster unless --force."""
    use_aws_profile(aws_profile)
    hook = _hook(region)
    checked = []
    for cid in cluster_ids:
        cluster = hook.describe_cluster(cid)  # BadInput when it does not exist
        if tag_dict(cluster).get(MANAGED_TAG) != "true" and not force:
            raise BadInput(
                f"cluster {cid} ({cluster.get('Name', '')}) was not started by ddb-s3 "
                f"(no {MANAGED_TAG} tag): not terminating it; pass --force to terminate it anyway"
            )
        checked.append(cluster)
    for cluster in checked:
        if cluster["Status"]["State"] in TERMINAL_CLUSTER_STATES:
            say(f"{cluster['Id']} is already {cluster['Status']['State']}")
            continue
        hook.terminate(cluster["Id"])
        say(f"terminating {cluster['Id']} (was {cluster['Status']['State']})")
