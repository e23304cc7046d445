"""--runner auto: the plan picks the runner (pure) and says why: what exists, then size and budget,
then the least compute cost."""

from __future__ import annotations

import math
import re

import pytest

from helpers import plan_for, table_description

pytestmark = pytest.mark.unit
GB = 10**9


def auto(size: int, **flags):
    return plan_for(table_description(size_bytes=size, billing="PAY_PER_REQUEST"), runner="auto", **flags)


def test_a_small_table_runs_here():
    p = auto(GB)
    assert p.runner == "local" and "no start-up" in p.runner_reason and "GiB" in p.runner_reason


COMPARED = re.compile(r"(emr|emr-serverless|glue) \$([\d,]+\.\d\d) \(~([^)]+)\)")
OWN_COMPUTE = re.compile(r"(?:cluster|Glue|EMR Serverless) \$([\d,]+\.\d\d) for")


@pytest.mark.parametrize("size, winner", [(100 * GB, "glue"), (1000 * GB, "emr")])
def test_a_big_table_goes_to_the_cheapest_cloud_runner_and_the_reason_compares_them(size, winner):
    """The printed compute cost of each cloud runner is read back from the reason: the chosen one is
    the cheapest of them, and its printed cost is the one its own estimate prints. Two sizes with
    two different winners, so a fixed pick cannot pass."""
    p = auto(size)
    costs = {r: float(c.replace(",", "")) for r, c, _ in COMPARED.findall(p.runner_reason)}
    assert set(costs) == {"emr", "emr-serverless", "glue"}, p.runner_reason
    assert costs[p.runner] == min(costs.values()), (p.runner, costs)
    assert p.runner == winner, p.runner_reason
    own = OWN_COMPUTE.search(p.estimate_text)
    assert own and float(own[1].replace(",", "")) == costs[p.runner], (p.estimate_text, costs)


def test_a_small_table_read_slowly_does_not_run_here():
    p = auto(GB, read_percent=0.001)  # 40 units/s: hours of reading
    assert p.runner != "local" and "at the budget" in p.runner_reason


@pytest.mark.parametrize(
    "flags, runner, word",
    [
        ({"cluster": "j-1ABCDEF"}, "emr", "running EMR cluster"),
        ({"application_id": "00fabc123def4g09"}, "emr-serverless", "existing EMR Serverless application"),
        ({"glue_job": "nightly"}, "glue", "existing Glue job"),
    ],
)
def test_what_exists_decides_first(flags, runner, word):
    p = auto(GB, **flags)
    assert p.runner == runner and word in p.runner_reason


def test_an_asked_runner_says_so():
    assert plan_for(runner="glue").runner_reason == "--runner glue was asked for"


def test_the_cost_comparison_counts_the_items_processing():
    """At 40,000 units/s the default 2 x m5.xlarge cannot process the connector's items as fast as
    they are read (CPU_US_PER_ITEM): the compared EMR time is the CPU-bound one, longer than the read."""
    from launcher.export.estimate import CLUSTER_START_SECONDS, duration

    desc = table_description(size_bytes=100 * GB, item_count=100 * GB // 1024, billing="PAY_PER_REQUEST")
    p = plan_for(desc, runner="auto", on_demand_read_units=40_000, read_percent=1.0)
    emr_time = re.search(r"emr \$[\d.,]+ \(~([^)]+)\)", p.runner_reason)
    assert emr_time, p.runner_reason
    read_only = duration(math.ceil(100 * GB / 4096) * 0.5 / 40_000 + CLUSTER_START_SECONDS)
    assert emr_time[1] != read_only
