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
    # A thousandth, scaled up: ~3 items of 3000 (none, about one time in 20: then the size stays unknown).
    big = with_sampled_size(aws, describe_table(aws, large))
    if big.size_sampled:
        assert big.item_count % 1000 == 0 and 1000 <= big.item_count <= 12000, big
    else:
        assert big.item_count == 0
    for name in (small, large):
        ddb.delete_table(TableName=name)
