"""How many vCPUs keep up with a read budget, from the CPU per item `make bench` measured
(estimate.CPU_US_PER_ITEM): the plan's estimate takes the slower of the read and the processing,
and names the nodes that would keep up. The issue's case: 100 GB of 1 KB items at the 40,000-unit
default table quota, on EMR."""

import math
import re

import pytest

from helpers import plan_for, table_description
from launcher.export.estimate import (
    CLUSTER_START_SECONDS,
    CPU_US_PER_ITEM,
    INSTANCE_PRICES,
    cheapest_cluster_to_keep_up,
    core_nodes_to_keep_up,
    estimate,
    keep_up_advice,
    vcpus_to_keep_up,
)

pytestmark = pytest.mark.unit
SIZE, ITEM = 100 * 10**9, 1024
ITEMS = SIZE // ITEM
QUOTA = 40_000


@pytest.mark.parametrize("reader", ["connector", "segments"])
def test_100_gb_on_the_nodes_that_keep_up_is_read_bound_and_done_within_15_minutes(reader):
    need = vcpus_to_keep_up(QUOTA, ITEM, False, CPU_US_PER_ITEM[reader])
    assert need == pytest.approx(QUOTA * 8 * CPU_US_PER_ITEM[reader] / 1e6)  # 8 items of 1 KB a unit
    nodes = core_nodes_to_keep_up(QUOTA, ITEM, False, CPU_US_PER_ITEM[reader], "m5.xlarge")
    assert (nodes - 1) * 4 < need <= nodes * 4
    kept_up = estimate(
        SIZE, QUOTA, False, True, "emr", True, "m5.xlarge", nodes, items=ITEMS, cpu_us=CPU_US_PER_ITEM[reader], run_vcpus=nodes * 4
    )
    assert kept_up.cpu_seconds <= kept_up.read_seconds
    assert kept_up.total_seconds == pytest.approx(kept_up.read_seconds + CLUSTER_START_SECONDS)
    assert kept_up.total_seconds <= 15 * 60 and "reading" in kept_up.describe()
    # one node fewer: the vCPUs set the pace and the estimate says so
    if nodes > 1:
        behind = estimate(
            SIZE,
            QUOTA,
            False,
            True,
            "emr",
            True,
            "m5.xlarge",
            nodes - 1,
            items=ITEMS,
            cpu_us=CPU_US_PER_ITEM[reader],
            run_vcpus=(nodes - 1) * 4,
        )
        assert behind.cpu_seconds > behind.read_seconds and behind.total_seconds > kept_up.total_seconds
        assert "processing: the vCPUs, not the read budget, set the pace" in behind.describe()


def test_the_cheapest_cluster_that_keeps_up_is_priced_with_its_master():
    """The cluster the advice names, planned: the plan prints the price of core nodes plus the master
    at the price table's EC2 + EMR rates for the hours of the run, worked out here by hand."""
    cpu_us = CPU_US_PER_ITEM["segments"]  # the segments reader reads at exactly the budget
    options = {}  # type: (core nodes that keep up, $ an hour of one node)
    for instance_type, (vcpu, ec2, emr) in INSTANCE_PRICES.items():
        if instance_type.split(".")[0] in ("m5", "m6g", "m7g"):
            options[instance_type] = (max(1, math.ceil(QUOTA * (8192 // ITEM) * cpu_us / 1e6 / vcpu)), ec2 + emr)
    with_master = {t: ((n + 1) * price, n) for t, (n, price) in options.items()}
    want_type = min(with_master, key=with_master.__getitem__)
    want_nodes = options[want_type][0]
    # core nodes alone would pick another type: the choice really prices the master
    assert want_type != min(options, key=lambda t: (options[t][0] * options[t][1], options[t][0]))
    assert cheapest_cluster_to_keep_up(QUOTA, ITEM, False, cpu_us) == (want_type, want_nodes)

    desc = table_description(item_count=ITEMS, size_bytes=SIZE) | {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}
    plan = plan_for(
        desc, runner="emr", on_demand_read_units=QUOTA, read_percent=1.0, reader="segments", instance_type=want_type, core_nodes=want_nodes
    )
    read_units = math.ceil(SIZE / 4096) / 2  # eventually consistent: 8 KB a unit
    seconds = read_units / QUOTA + 8 * 60  # read bound (the nodes keep up), plus the transient cluster's start
    hours = (want_nodes + 1) * seconds / 3600
    _, ec2, emr = INSTANCE_PRICES[want_type]
    cluster = hours * (ec2 + emr)
    reads = read_units / 1e6 * 0.125  # on-demand, $0.125 a million read units
    printed = re.search(r"est\. \$([\d,.]+) \(reads \$([\d,.]+), cluster \$([\d,.]+) for ([\d.]+) instance-hours\)", plan.estimate_text)
    assert printed, plan.estimate_text
    assert printed.groups() == (f"{reads + cluster:,.2f}", f"{reads:,.2f}", f"{cluster:,.2f}", f"{hours:.2f}"), plan.estimate_text


def test_advice_only_when_the_cluster_falls_behind():
    assert keep_up_advice(100, ITEM, False, "connector", "m5.xlarge", 2, ITEMS) is None  # 800 items/s: nothing to say
    # 200 items: the vCPUs are done in milliseconds whatever the budget (issue 24.4 saw --core-nodes 3 advised)
    assert keep_up_advice(QUOTA, ITEM, False, "connector", "m5.xlarge", 1, 200) is None
    advice = keep_up_advice(QUOTA, ITEM, False, "connector", "m5.xlarge", 1, ITEMS)
    nodes = core_nodes_to_keep_up(QUOTA, ITEM, False, CPU_US_PER_ITEM["connector"], "m5.xlarge")
    assert advice is not None and f"--core-nodes {nodes} does" in advice and "1 x m5.xlarge (4 vCPUs)" in advice


def test_the_plan_estimate_of_a_100_gb_table_counts_its_cpu():
    desc = table_description(item_count=ITEMS, size_bytes=SIZE) | {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}
    small = plan_for(desc, runner="emr", on_demand_read_units=QUOTA, read_percent=1.0, core_nodes=1, reader="segments")
    enough = plan_for(
        desc,
        runner="emr",
        on_demand_read_units=QUOTA,
        read_percent=1.0,
        reader="segments",
        core_nodes=core_nodes_to_keep_up(QUOTA, small.average_item_size, False, CPU_US_PER_ITEM["segments"], "m5.xlarge"),
    )
    assert small.estimate.cpu_seconds > small.estimate.read_seconds
    assert enough.estimate.cpu_seconds <= enough.estimate.read_seconds
    assert enough.estimate.total_seconds <= 15 * 60 < small.estimate.total_seconds


def test_a_small_tables_estimate_says_start_up_not_the_vcpus():
    """200 items on EMR: ~8 minutes of cluster start, well under a second of work (issue 24.4 saw
    "0s processing: the vCPUs, not the read budget, set the pace")."""
    plan = plan_for(table_description(item_count=200, size_bytes=200 * 300), runner="emr")
    assert "(under a second of reading: the rest is start-up)" in plan.estimate_text, plan.estimate_text


def test_no_node_advice_for_a_cluster_the_user_gave(capsys):
    """--cluster j-...: its nodes are what they are; the plan gives the advice only for a cluster it starts."""
    from launcher.cli.export import show_plan

    desc = table_description(item_count=ITEMS, size_bytes=SIZE) | {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}
    flags = {"runner": "emr", "on_demand_read_units": QUOTA, "read_percent": 1.0, "core_nodes": 1}
    show_plan(plan_for(desc, **flags))
    assert "--core-nodes" in capsys.readouterr().err
    show_plan(plan_for(desc, **flags, cluster="j-1ABCDEFGHIJK"))
    assert "--core-nodes" not in capsys.readouterr().err


def test_the_final_line_says_verified_with_separators_and_size():
    from launcher.cli.export import final_line

    assert final_line(1234567, 12, 3 * 1024**3, 81.04) == "exported and verified 1,234,567 items, 3.0 GiB read in 12 data files in 81.0s"
    assert final_line(1, 1, None, 0.5) == "exported and verified 1 item in 1 data file in 0.5s"


def test_the_plan_says_a_role_name_is_taken_at_the_path_slash():
    """EMR Serverless and Glue take a role's ARN: a name is made one at the path /, which the plan says
    (a console-made role under /service-role/ would not be found)."""
    from launcher.cli.export import role_path_note

    named = plan_for(runner="emr-serverless", execution_role="ddb-s3-job")
    assert role_path_note(named) == (
        "--execution-role ddb-s3-job is a name: taken at the path / (role/ddb-s3-job); give its"
        " ARN if it lives under a path such as /service-role/ (`ddb-s3 doctor` checks)"
    )
    arn = "arn:aws:iam::123456789012:role/service-role/ddb-s3-job"
    assert role_path_note(plan_for(runner="emr-serverless", execution_role=arn)) is None
    assert role_path_note(plan_for(runner="glue", glue_role="ddb-s3-glue")).startswith("--glue-role ddb-s3-glue is a name")
    assert role_path_note(plan_for(runner="emr")) is None  # RunJobFlow takes role names
