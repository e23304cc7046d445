"""A table DescribeTable has not counted yet (dynalite never counts) is sized from a sample, so the
plan and the estimate do not start from zero (issue 15)."""

from __future__ import annotations

import boto3

from helpers import unique_name
from launcher.aws.dynamodb import describe_table, with_sampled_size
from launcher.aws.session import Aws
from launcher.dev.sample_data import create_lab_table, lab_items, load_items


def test_uncounted_tables_are_sized_from_a_sample(local_stack):
    ddb = boto3.client("dynamodb")
    small, large = unique_name("samp"), unique_name("samp")
    for name, n in ((small, 40), (large, 3000)):
        create_lab_table(ddb, name)
        load_items(ddb, name, lab_items(n))
    aws = Aws()
    t = describe_table(aws, small)
    assert t.item_count == 0 and not t.size_sampled  # what DescribeTable says
    exact = with_sampled_size(aws, t)  # one page is the whole table: exact
    assert exact.size_sampled and exact.item_count == 40 and 40 * 300 < exact.size_bytes < 40 * 3000
    # Segment 0 of a 1000-, 100-, then 10-way Scan, until it holds 100 items: ~300 of 3000, scaled up.
    big = with_sampled_size(aws, describe_table(aws, large))
    assert big.size_sampled and 2000 <= big.item_count <= 4500, big
    for name in (small, large):
        ddb.delete_table(TableName=name)


def test_auto_runner_plans_from_the_sampled_size_of_an_uncounted_table(local_stack):
    """--runner auto chose by size with DescribeTable's zero: a table created or bulk-loaded within
    six hours would have been called empty (issue 24.1)."""
    from launcher.export.flow import plan_export
    from launcher.options import build_request

    ddb = boto3.client("dynamodb")
    name = unique_name("auto")
    create_lab_table(ddb, name)
    load_items(ddb, name, lab_items(200))
    s3 = boto3.client("s3")
    bucket = unique_name("auto").lower()
    s3.create_bucket(Bucket=bucket)
    try:
        plan = plan_export(build_request({"table": name, "to": f"s3://{bucket}/x", "runner": "auto"}, environ={}))
        assert plan.table.size_sampled and plan.table.item_count == 200, plan.table
    finally:
        ddb.delete_table(TableName=name)
