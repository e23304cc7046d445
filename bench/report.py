"""The markdown report: every number is from one run (results.json), shown as ratios."""
from __future__ import annotations

from typing import Any


def _f(x: float | None, d: int = 1) -> str:
    return "—" if x is None else f"{x:,.{d}f}"


def _r(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def _ok(cond: bool | None) -> str:
    return "n/a" if cond is None else ("met" if cond else "**missed**")


def ceiling_s(size: dict[str, Any]) -> float:
    """The faster of the two raw scans (with and without botocore's parse of the items)."""
    return min(size["raw_scan"]["seconds"], (size.get("raw_scan_unparsed") or size["raw_scan"])["seconds"])


def render(res: dict[str, Any]) -> str:
    m = res["machine"]
    out = [f"# ddb-s3 benchmark ({res['started']} to {res.get('finished', '?')})", "",
           (f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}, "
           f"load average at start {m['load_at_start']}. Local stack: dynalite (DynamoDB), moto server (S3), "
           "local Spark (`local[N]`, N = CPUs). Items of ~1 KB without sets/binary (see the sets table)."), ""]
    fx = res["fixed"]
    out += ["## Fixed cost of the local runner (10-item table, whole CLI run), by phase", "",
            ("Seconds from the CLI's start: the launcher up to the step's start (Python, imports, DescribeTable, "
             "a sample Scan, plan, render); the step, as Spark start and stop (JVM, SparkContext, then stop and "
             "exit) and the Spark job (in which each Python worker starts: fork, then our modules and boto3 "
             "imported); after the step (verify of the stored checksums, result). "
             f"`ddb-s3 --help` alone (Python and the CLI's imports): {_f(res.get('cli_start_s'), 2)} s; "
             f"`python -c \"import boto3\"` in the same venv: {_f(res.get('boto3_import_s'), 2)} s (best of 3 each). "
             f"The venv's first Spark run, which writes the class-data-sharing archive, took {_f(res.get('first_spark_run_s'))} s "
             "(connector reader) and is not in the table."), "",
            "| reader | wall s | launcher and plan s | Spark start and stop s | Spark job s (Python workers' start s) | after the step s |",
            "|---|---|---|---|---|---|"]
    for r, v in fx.items():  # "python": --engine python, no Spark (its launcher column is the whole run)
        p = v.get("phases") or {}
        out.append(f"| {r} | {_f(v['wall_s'])} | {_f(p.get('launcher'), 2)} | {_f(p.get('spark_start_stop'), 2)} | "
                   f"{_f(v['job_s'], 2)} ({_f(p.get('workers_start'), 2)}) | {_f(p.get('after_step'), 2)} |")
    if st := res.get("stages"):
        out += ["", f"## Where a task's time goes, per item ({st['items']:,} items of one segment, {st['pages']} pages)", "",
                ("Each stage of the segments reader's task timed apart, in one process, with the job's own functions "
                 "(bench/stages.py). The Scan requests are mostly dynalite's time (a single node process); the rest is "
                 "ours. The connector reader's task does its reading, conversion and gzip in the JVM (upstream "
                 "DynamoDBInputFormat, then our GzipExportChunks); its Python side only uploads the gzip bytes."), "",
                "| stage | µs/item |", "|---|---|"]
        out += [f"| {name} | {_f(us, 2)} |" for name, us in st["segments"].items()]
        out += [f"| segments writer as the job runs it (gzip, digests, upload) | {_f(st['segments_writer'], 2)} |",
                f"| connector task's Python side (upload of the JVM's gzip) | {_f(st['connector_python'], 2)} |"]
    if cd := res.get("connector_decode"):
        out += ["", (f"## The connector reader's decode of a Scan page, side by side ({cd['pages']} pages of one segment, "
                f"{cd['items_per_page']:.0f} items a page, {cd['rounds']} rounds)"), "",
                ("CPU of one JVM thread turning the same captured Scan responses into export lines "
                 "(bench/jvm/ScanPageDecode.java, bench/connector_decode.py): SDK v2's `scan()` over an HTTP client that "
                 "answers with the page (marshalling, signing, CRC32, unmarshalling into `AttributeValue`s) and our "
                 "`ItemToDynamoDbJson`, as the stock connector reader does; the same call with dev.ddbs3.RawScanItems on; "
                 "and a streaming parse (jackson-core) that copies each item's bytes as DynamoDB sent them. The stock "
                 "path's lines and the copy's were checked equal as JSON."), "",
                "| mode | µs/item |", "|---|---|",
                f"| SDK v2 unmarshalling + ItemToDynamoDbJson (the stock connector reader) | {_f(cd['sdk_us_per_item'], 2)} |",
                ("| the same call with dev.ddbs3.RawScanItems: each item through the SDK as one binary attribute "
                 f"(the connector reader now) | {_f(cd.get('sdk_raw_items_us_per_item'), 2)} |"),
                f"| streaming copy of each item's bytes | {_f(cd['raw_us_per_item'], 2)} |",
                (f"| streaming copy + the SDK's request cost ({_f(cd['sdk_page_us'])} µs a page) spread over the page | "
                f"{_f(cd['raw_with_request_us_per_item'], 2)} |")]
    out += ["", "## Export against the ceiling", "",
            ("Ceiling: a parallel boto3 Scan that discards items (one process per segment, best of the segment counts "
            "tried); the same Scan with botocore's parse of the items skipped (the page split into each item's JSON "
            "text, as our segments reader reads); the ceiling is the faster of the two. And a raw S3 upload of as many bytes as "
            "the export's data files. `job` is the Spark job alone (from its log), `wall` the whole CLI run including "
            "the fixed cost above."), "",
            ("| items | reader | boto3 scan s (segments) | unparsed scan s | S3 upload s | ours job s | ours wall s | "
            "job: ceiling/ours | job: (scan+upload)/ours | wall: ceiling/ours | marginal µs/item (job − tiny job) | CPU s (tree) |"),
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in res["sizes"]:
        scan, up, top = s["raw_scan"], s["raw_upload"], ceiling_s(s)
        unparsed = (s.get("raw_scan_unparsed") or {}).get("seconds")
        for reader, o in s["ours"].items():
            out.append(f"| {s['items']:,} | {reader} | {_f(scan['seconds'], 2)} ({scan['segments']}) | {_f(unparsed, 2)} | "
                       f"{_f(up['seconds'], 2)} | {_f(o['job_s'])} | {_f(o['wall_s'])} | {_r(top / o['job_s'])} | "
                       f"{_r((top + up['seconds']) / o['job_s'])} | {_r(top / o['wall_s'])} | "
                       f"{_f((o['job_s'] - fx[reader]['job_s']) / s['items'] * 1e6)} | {_f(o['cpu_s'])} |")
    out += ["", "Raw-scan times by segment count: " + "; ".join(
        f"{s['items']:,}: {s['raw_scan']['tried']}" for s in res["sizes"]), ""]
    out += ["## Against the tools people use (same table, end to end, wall clock)", "",
            "Ratios are speed-ups of our export (the faster reader, whole CLI run with Spark start) over each tool.", "",
            ("| items | ours wall s (reader) | Airflow DynamoDBToS3Operator s (execute s) | dynamodump backup s | "
            "ours vs Airflow | ours vs dynamodump |"), "|---|---|---|---|---|---|"]
    for s in res["sizes"]:
        best = min(s["ours"].values(), key=lambda o: o["wall_s"])
        af = s.get("airflow") or {}
        af_s = af.get("wall_s") if af.get("ok") else None
        dd = (s.get("dynamodump") or {}).get("backup") or {}
        dd_s = dd.get("seconds") if dd.get("ok") else None
        out.append(f"| {s['items']:,} | {_f(best['wall_s'])} ({best['reader']}) | "
                   f"{_f(af_s) if af_s else 'failed: ' + str(af.get('error'))[:80]} ({_f(af.get('execute_seconds'))}) | "
                   f"{_f(dd_s) if dd_s else 'failed/skipped'} | {_r(af_s / best['wall_s'] if af_s else None)} | "
                   f"{_r(dd_s / best['wall_s'] if dd_s else None)} |")
    st = res["sets"]
    out += ["", (f"On a table of {st['items']:,} items with every DynamoDB type (sets, binary): Airflow's operator: "
            f"`{st['airflow'].get('error') or 'ok'}`; ours exported {st['ours']['items']:,} items "
            f"in {_f(st['ours']['wall_s'])} s."), ""]
    out += ["## verify of an S3 export: stored checksums against reading every line", "",
            ("Default `ddb-s3 verify s3://...` compares each file's size and the SHA-256 S3 stores with it "
             "(HeadObject, no data read); `--deep` downloads and parses every line. The whole CLI run, and the "
             "check alone (`verify_export` in the bench's process: the CLI's start is the same for both)."), "",
            "| items | stored checksums s (check alone) | --deep s (check alone) | stored/deep whole run | stored/deep check alone |",
            "|---|---|---|---|---|"]
    for s in res["sizes"]:
        if v := s.get("verify"):
            st, dp = v["stored"], v["deep"]
            alone = _r(st["check_s"] / dp["check_s"]) if "check_s" in st else "-"
            out.append(f"| {s['items']:,} | {_f(st['seconds'])} ({_f(st.get('check_s'), 2)}) | {_f(dp['seconds'])} "
                       f"({_f(dp.get('check_s'), 2)}) | {_r(st['seconds'] / dp['seconds'])} | {alone} |")
    if res.get("verify_scale"):
        out += ["", "As the export grows (exports written straight to S3 by the jobs' writer, 100,000 items a file):", "",
                "| items | files | stored checksums s (check alone) | --deep s (check alone) | stored/deep whole run | stored/deep check alone |",
                "|---|---|---|---|---|---|"]
        for v in res["verify_scale"]:
            st, dp = v["stored"], v["deep"]
            out.append(f"| {v['items']:,} | {-(-v['items'] // 100_000)} | {_f(st['seconds'])} ({_f(st['check_s'], 2)}) | "
                       f"{_f(dp['seconds'])} ({_f(dp['check_s'], 2)}) | {_r(st['seconds'] / dp['seconds'])} | "
                       f"{_r(st['check_s'] / dp['check_s'])} |")
    out += [""]
    out += ["## Peak memory (RSS, MiB) as the table grows", "",
            "| items | reader | launcher (ddb-s3 process) | Spark driver JVM | Python workers (sum) | whole tree |",
            "|---|---|---|---|---|---|"]
    for s in res["sizes"]:
        for reader, o in s["ours"].items():
            r = o["rss_mib"]
            out.append(f"| {s['items']:,} | {reader} | {r['root']} | {r['driver']} | {r['workers']} | {r['tree']} |")
    out += [""]
    rs = [s for s in res["sizes"] if s.get("restore")]
    if rs:
        out += ["## Restore against raw write loops (same items, same concurrency, fresh on-demand tables)", "",
                ("| items | threads | raw BatchWriteItem s | overwrite s (without verify s) | overwrite/raw | "
                "raw conditional PutItem s | no-overwrite s | no-overwrite/raw | dynamodump restore s | ours overwrite vs dynamodump |"),
                "|---|---|---|---|---|---|---|---|---|---|"]
        for s in rs:
            r = s["restore"]
            dd = ((s.get("dynamodump") or {}).get("restore") or {})
            dd_s = dd.get("seconds") if dd.get("ok") else None
            out.append(f"| {s['items']:,} | {r['concurrency']} | {_f(r['raw_batch']['seconds'])} | {_f(r['overwrite']['seconds'])} "
                       f"({_f(r['overwrite_noverify']['seconds'])}) | {_r(r['raw_batch']['seconds'] / r['overwrite']['seconds'])} | "
                       f"{_f(r['raw_put']['seconds'])} | {_f(r['put_if_absent']['seconds'])} | "
                       f"{_r(r['raw_put']['seconds'] / r['put_if_absent']['seconds'])} | {_f(dd_s)} | "
                       f"{_r(dd_s / r['overwrite']['seconds'] if dd_s else None)} |")
        out += [""]
    out += ["## Budget accuracy (consumed units/s from ConsumedCapacity, as a ratio to the target)", "",
            ("Reads: each reader on a table of n and of 3n items. Whole run = units / seconds of the n-item run; "
            "sustained = (units of 3n − units of n) / (seconds of 3n − seconds of n), in which a fixed opening "
            "burst cancels out. Seconds: the longest Spark task (reads), the restore call (writes)."), "",
            ("| what | target units/s | consumed units (n / 3n) | seconds (n / 3n) | whole run units/s | whole-run ratio | "
            "sustained units/s | sustained ratio |"), "|---|---|---|---|---|---|---|---|"]
    for b in res.get("read_budget", []):
        lg = b.get("long") or {}
        out.append(f"| export read, {b['reader']} reader | {_f(b['target'], 0)} | {_f(b['consumed'], 0)} / {_f(lg.get('consumed'), 0)} | "
                   f"{_f(b['job_s'])} / {_f(lg.get('job_s'))} | {_f(b['rate'])} | {_r(b['ratio'])} | "
                   f"{_f(b.get('sustained_rate'))} | {_r(b.get('sustained_ratio'))} |")
    wb = res.get("write_budget")
    if wb:
        out.append(f"| restore write (overwrite) | {_f(wb['target'], 0)} | {_f(wb['consumed'], 0)} | {_f(wb['seconds'])} | "
                   f"{_f(wb['rate'])} | {_r(wb['ratio'])} | — | — |")
    out += ["", "## Projection for EMR: a 100 GB table of 1 KB items (on paper)", "",
            ("From the marginal CPU seconds per item our job used here (all Spark processes, the 10-item run's CPU taken off) and DynamoDB's documented limits "
            "(8 KB per eventually consistent read unit, 3,000 RCU per partition, 40,000 RCU default table quota); "
            "cluster start and prices from launcher/estimate.py."), "",
            ("| reader | CPU µs/item | read budget units/s | cluster | nodes of its type that keep up | min segments | read-bound min | CPU-bound min | bound by | "
            "total min (with start) | cluster $ | on-demand reads $ | total $ |"), "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in res.get("projection", []):
        out.append(f"| {p['reader']} | {_f(p['cpu_s_per_item'] * 1e6)} | {p['budget']:,.0f} | {p['core_nodes']}x {p['instance_type']} "
                   f"({p['cores']} vCPU) | {p.get('nodes_to_keep_up', '—')} | {p['segments_min']} | {_f(p['read_s'] / 60)} | {_f(p['cpu_bound_s'] / 60)} | "
                   f"{p['bound']} | {_f(p['total_s'] / 60)} | {_f(p['cluster_usd'], 2)} | {_f(p['read_usd'], 2)} | {_f(p['usd'], 2)} |")
    out += ["", "## Targets", ""] + [f"- {t}" for t in targets(res)] + [""]
    return "\n".join(out)


DEFAULT_READER = "connector"  # launcher/options.py: the default export


def targets(res: dict[str, Any]) -> list[str]:
    """Issue 26's targets (and the earlier issues' still held), each judged on this run's numbers."""
    sizes = {s["items"]: s for s in res["sizes"]}
    big = res["sizes"][-1]
    n = big["items"]
    lines = []
    cpu_us = {p["reader"]: p["cpu_s_per_item"] * 1e6 for p in res.get("projection", [])}
    for reader, o in big["ours"].items():
        r = ceiling_s(big) / o["job_s"]
        us = cpu_us.get(reader)
        lines.append(f"{reader} reader's Spark job >= 0.9x of the Scan-without-parse ceiling on {n:,} items, or <= 20 µs of CPU "
                     f"an item: {r:.2f}x, {_f(us)} µs — {_ok(r >= 0.9 or (us is not None and us <= 20))}")
    at = sizes.get(300000) or big
    dd = ((at.get("dynamodump") or {}).get("backup") or {})
    ours_wall = at["ours"][DEFAULT_READER]["wall_s"]
    best = min(at["ours"].values(), key=lambda o: o["wall_s"])
    if dd.get("ok"):
        r = dd["seconds"] / ours_wall
        lines.append(f"the default export's whole CLI run >= 5x dynamodump on {at['items']:,} items: {r:.2f}x — {_ok(r >= 5)} "
                     f"(the {best['reader']} reader: {dd['seconds'] / best['wall_s']:.2f}x)")
    else:
        lines.append(f"dynamodump on {at['items']:,} items: not run or failed")
    scan = at["raw_scan"]["seconds"]
    lines.append(f"the default export's whole CLI run >= 1.2x the plain parallel boto3 Scan on {at['items']:,} items: "
                 f"{scan / ours_wall:.2f}x — {_ok(scan / ours_wall >= 1.2)} (the {best['reader']} reader: {scan / best['wall_s']:.2f}x)")
    if (hand := res.get("by_hand_s")) and "python" in res["fixed"]:
        py = res["fixed"]["python"]["wall_s"]
        lines.append(f"10-item table, whole CLI run, --engine python <= 3x the same work by hand: {py:.2f} s against {hand:.2f} s, "
                     f"{py / hand:.1f}x — {_ok(py <= 3 * hand)}")
    if (help_s := res.get("cli_start_s")) and (boto3_s := res.get("boto3_import_s")):
        lines.append(f"`ddb-s3 --help` no slower than `python -c \"import boto3\"`: {help_s:.2f} s against {boto3_s:.2f} s — "
                     f"{_ok(help_s <= boto3_s)}")
    fixed = res["fixed"][DEFAULT_READER]["wall_s"]
    lines.append(f"(earlier issue) local fixed cost (10-item table, whole run, default export) <= 3.5 s: {fixed:.1f} s — {_ok(fixed <= 3.5)} "
                 f"(segments reader {res['fixed']['segments']['wall_s']:.1f} s)")
    for p in res.get("projection", []):
        if p["budget"] >= 40000 and p.get("nodes_to_keep_up", 0) <= p["core_nodes"]:
            mins = p["total_s"] / 60
            lines.append(f"EMR projection, 100 GB at 40,000 units ({p['reader']}): {mins:.1f} min with the cluster's start on "
                         f"{p['core_nodes']}x {p['instance_type']} — {_ok(mins <= 15)}")
    big_sizes = sorted(k for k in sizes if k >= 200000)
    if len(big_sizes) >= 2:
        lo, hi = big_sizes[0], big_sizes[-1]
        for reader in ("connector", "segments"):
            a, b = sizes[lo]["ours"][reader]["rss_mib"]["root"], sizes[hi]["ours"][reader]["rss_mib"]["root"]
            lines.append(f"launcher peak RSS within 10% between {lo:,} and {hi:,} ({reader}): {a} → {b} MiB ({b / a - 1:+.1%}) — "
                         f"{_ok(abs(b / a - 1) <= 0.10)}")
    else:
        lines.append("launcher memory: not compared (needs two BENCH_SIZES of 200000 or more)")
    for b in res.get("read_budget", []):
        s = b.get("sustained_ratio", b["ratio"])
        lines.append(f"read budget ({b['reader']}) within 10%, sustained: {s:.2f} — {_ok(abs(s - 1) <= 0.10)} "
                     f"(whole run of {b['consumed']:,.0f} units: {b['ratio']:.2f})")
    af = big.get("airflow") or {}
    if af.get("ok"):
        r = af["wall_s"] / min(o["wall_s"] for o in big["ours"].values())
        lines.append(f"(earlier issue) >= 1.5x Airflow's operator on {n:,} items: {r:.2f}x — {_ok(r >= 1.5)}")
    rs = [s for s in res["sizes"] if s.get("restore")]
    if rs:
        r = rs[-1]["restore"]
        a = r["raw_batch"]["seconds"] / r["overwrite"]["seconds"]
        b = r["raw_put"]["seconds"] / r["put_if_absent"]["seconds"]
        lines.append(f"(earlier issue) restore overwrite >= 0.8 of raw BatchWriteItem ({rs[-1]['items']:,} items): {a:.2f} — {_ok(a >= 0.8)}")
        lines.append(f"(earlier issue) restore no-overwrite >= 0.5 of raw PutItem ({rs[-1]['items']:,} items): {b:.2f} — {_ok(b >= 0.5)}")
    wb = res.get("write_budget")
    if wb:
        lines.append(f"(earlier issue) write budget within 10%: {wb['ratio']:.2f} — {_ok(abs(wb['ratio'] - 1) <= 0.10)}")
    return lines
