"""The as-of rules (launcher/job/as_of.py) against a model of a table: random puts, updates and
deletes racing a Scan, their stream records (no record for a write that changes nothing, stamps
rounded down to the second, one key's records split across a parent and a child shard), and the
table's true state at T. Pure: the stream reader itself runs against the local stand-in in
tests/e2e/test_as_of_export.py."""

from __future__ import annotations

import math
import random

import pytest

from launcher.core.codec import item_key
from launcher.job import as_of

KEYS = ["id"]


def item(key: int, value: int) -> dict:
    return {"id": {"N": str(key)}, "v": {"N": str(value)}}


def k(key: int) -> tuple:
    return item_key({"id": {"N": str(key)}}, KEYS)


class Model:
    """A table's history: (time, key, value or None) writes, in time order."""

    def __init__(self, rng: random.Random, start: float, keys: int = 8, writes: int = 60, span: float = 12.0) -> None:
        self.writes = sorted((start + rng.random() * span, rng.randrange(keys), rng.choice([None, *range(4)])) for _ in range(writes))
        self.initial = {key: rng.choice([None, 0]) for key in range(keys)}

    def at(self, t: float) -> dict[int, int | None]:
        state = dict(self.initial)
        for when, key, value in self.writes:
            if when < t:
                state[key] = value
        return state

    def records(self, split_at: float) -> list:
        """The stream: a record per write that changed its item; before `split_at` in the parent shard
        (depth 0), after it in a child (depth 1); sequence numbers increase."""
        state, out = dict(self.initial), []
        for seq, (when, key, value) in enumerate(self.writes):
            old = state[key]
            if old == value:
                continue  # DynamoDB writes no record for a write that changes nothing
            state[key] = value
            out.append(
                (
                    k(key),
                    0 if when < split_at else 1,
                    seq,
                    math.floor(when),
                    None if value is None else item(key, value),
                    None if old is None else item(key, old),
                    {"id": {"N": str(key)}},
                )
            )
        return out


def as_exported(lines: list[str]) -> dict[int, int]:
    import json

    out = {}
    for line in lines:
        it = json.loads(line)["Item"]
        out[int(it["id"]["N"])] = int(it["v"]["N"])
    return out


def scan(model: Model, rng: random.Random, s0: float, s1: float) -> list[str]:
    """Each key read once, at its own moment of the scan's window."""
    from launcher.core.codec import item_line

    lines = []
    for key in model.initial:
        value = model.at(s0 + rng.random() * (s1 - s0))[key]
        if value is not None:
            lines.append(item_line(item(key, value)))
    return lines


def exported_at(model: Model, rng: random.Random, at: int, s0: float, s1: float) -> dict[int, int]:
    since, until = as_of.window(at, s0, s1)
    records = [r for r in model.records(split_at=s0 + rng.random() * (s1 - s0)) if since <= r[3] < until]
    changed = as_of.items_at(records, at)
    lines = list(as_of.without_changed(scan(model, rng, s0, s1), changed, KEYS)) + as_of.changed_lines(changed)
    return as_exported(lines)


def truth(model: Model, at: int) -> dict[int, int]:
    return {key: value for key, value in model.at(at).items() if value is not None}


@pytest.mark.parametrize("seed", range(150))
def test_as_of_start_is_the_table_at_the_second_after_the_scan_began(seed: int) -> None:
    rng = random.Random(seed)
    s0 = 1_000_000.0 + rng.random()
    model = Model(rng, s0 - 3)
    s1 = s0 + 1 + rng.random() * 6
    at = math.ceil(s0)
    assert exported_at(model, rng, at, s0, s1) == truth(model, at)


@pytest.mark.parametrize("seed", range(150))
def test_as_of_a_past_second_undoes_the_writes_after_it(seed: int) -> None:
    rng = random.Random(seed)
    s0 = 1_000_010.0 + rng.random()
    model = Model(rng, s0 - 12, span=20)
    s1 = s0 + 1 + rng.random() * 6
    at = math.floor(s0) - rng.randrange(1, 10)
    assert exported_at(model, rng, at, s0, s1) == truth(model, at)


def test_a_write_stamped_in_ts_second_is_out_and_one_in_the_second_before_is_in() -> None:
    at = 1_000_000
    recs = [
        (k(1), 0, 1, at - 1, item(1, 1), None, {"id": {"N": "1"}}),  # inserted in the second before T: in
        (k(2), 0, 2, at, item(2, 2), None, {"id": {"N": "2"}}),  # inserted in T's second: out
    ]
    assert as_of.items_at(recs, at) == {k(1): item(1, 1), k(2): None}


def test_insert_then_delete_inside_the_window_is_absent_and_delete_then_reinsert_is_the_new_image() -> None:
    at = 1_000_000
    recs = [
        (k(1), 0, 1, at - 3, item(1, 1), None, {"id": {"N": "1"}}),
        (k(1), 0, 2, at - 2, None, item(1, 1), {"id": {"N": "1"}}),
        (k(2), 0, 3, at - 3, None, item(2, 1), {"id": {"N": "2"}}),
        (k(2), 1, 4, at - 1, item(2, 9), None, {"id": {"N": "2"}}),  # in the child shard
    ]
    assert as_of.items_at(recs, at) == {k(1): None, k(2): item(2, 9)}


def test_a_key_in_parent_and_child_is_ordered_by_lineage_not_sequence_number() -> None:
    """Sequence numbers are ordered within a shard only: the child's may be smaller."""
    at = 1_000_000
    recs = [
        (k(1), 1, 5, at - 1, item(1, 2), item(1, 1), {"id": {"N": "1"}}),  # child
        (k(1), 0, 90, at - 1, item(1, 1), None, {"id": {"N": "1"}}),  # parent, larger number
    ]
    assert as_of.items_at(recs, at) == {k(1): item(1, 2)}


@pytest.mark.parametrize("seed", range(100))
def test_a_snapshot_at_t1_plus_the_changes_to_t2_is_the_snapshot_at_t2(seed: int) -> None:
    rng = random.Random(seed)
    model = Model(rng, 1_000_000.0, span=20)
    t1 = 1_000_000 + rng.randrange(0, 10)
    t2 = t1 + rng.randrange(1, 10)
    records = [r for r in model.records(split_at=1_000_000 + rng.random() * 20) if t1 <= r[3] < t2]
    state = {k(key): item(key, v) for key, v in truth(model, t1).items()}
    for line in as_of.increments(records):
        key = item_key(line["Keys"], KEYS)
        if "NewImage" in line:
            state[key] = line["NewImage"]
        else:
            state.pop(key)
    assert state == {k(key): item(key, v) for key, v in truth(model, t2).items()}


def test_an_empty_window_has_no_changes_and_a_put_back_item_is_no_change() -> None:
    assert list(as_of.increments([])) == []
    recs = [
        (k(1), 0, 1, 10, item(1, 2), item(1, 1), {"id": {"N": "1"}}),
        (k(1), 0, 2, 11, item(1, 1), item(1, 2), {"id": {"N": "1"}}),
    ]
    assert list(as_of.increments(recs)) == []


def test_the_window_covers_the_scan_and_t() -> None:
    assert as_of.window(100, 103.5, 107.2) == (100, 108)  # past T: from T to the second after the scan
    assert as_of.window(104, 103.5, 107.2) == (103, 108)  # T at the start: from the scan's first second
