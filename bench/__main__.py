"""`python -m bench` (`make bench`): start the local stack, build tables of ~1 KB items, measure
everything in one run, print a markdown table of ratios and write bench/out/{results.md,
results.json,bench.png}.

Environment:
  BENCH_SIZES            table sizes (default 20000,300000,1000000)
  BENCH_QUICK=1          small sizes for development (5000) and shorter budget runs
  BENCH_SCAN_SEGMENTS    segment counts tried for the raw-scan ceiling (default 1,2,4,8)
  BENCH_RESTORE_MAX      largest size on which the restore comparisons run (default 200000)
  BENCH_DYNAMODUMP_MAX   largest size for dynamodump's backup (default 1000000; its restore up to BENCH_RESTORE_MAX)
  BENCH_BUDGET_ITEMS     items in the read/write budget tables (default 20000; a second read table 3x)
  BENCH_READ_TARGET / BENCH_WRITE_TARGET   units/s targets (default 200 / 1000)
  BENCH_AIRFLOW_FILE_SIZE                  the operator's file_size in bytes (default 100000000)
  BENCH_VERIFY_SIZES     items of the exports verify is timed on, both ways (default 1000000,3000000)
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from launcher.dev.localstack import CLEARED_VARS, LocalStack

from . import budget, ceiling, connector_decode, ours, projection, restore_bench, stages, tools, verify_scale
from .common import Timer, log
from .data import client, make_table
from .report import render

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/out"
BUCKET = "bench-exports"
STAGE_ITEMS = 20_000  # items whose task stages are timed apart (bench/stages.py)


def env_list(name: str, default: str) -> list[int]:
    return [int(x) for x in os.environ.get(name, default).split(",") if x.strip()]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    load = os.getloadavg()
    return {"nproc": os.cpu_count(), "memory_gib": round(mem / 2**30, 1), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "load_at_start": [round(x, 2) for x in load]}


def one_size(n: int, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    name = f"bench-{n}"
    res: dict[str, Any] = {"items": n}
    with Timer() as t:
        loaded = make_table(name, n)
    log(f"{name}: loaded {loaded:,} items in {t.seconds:.1f}s")
    res["load_s"] = t.seconds
    res["raw_scan"] = ceiling.best_raw_scan(name, cfg["scan_segments"])
    res["raw_scan_unparsed"] = ceiling.raw_scan(name, res["raw_scan"]["segments"], parse=False)
    log(f"{name}: raw scan best {res['raw_scan']['seconds']:.2f}s with {res['raw_scan']['segments']} segments "
        f"(tried {res['raw_scan']['tried']}); without botocore's parse {res['raw_scan_unparsed']['seconds']:.2f}s")
    res["ours"] = {}
    for reader in ("connector", "segments"):
        r = ours.export(name, BUCKET, reader, prefix=f"n{n}")
        assert r["items"] == n, (reader, r["items"], n)
        res["ours"][reader] = r
        log(f"{name}: ours {reader}: wall {r['wall_s']:.1f}s, job {r['job_s']:.1f}s, rss {r['rss_mib']}")
    uri = res["ours"]["connector"]["export_uri"]
    res["verify"] = {"stored": ours.verify(uri, deep=False), "deep": ours.verify(uri, deep=True)}
    v = res["verify"]
    log(f"{name}: verify {v['stored']['seconds']:.1f}s from stored checksums (check alone {v['stored']['check_s']:.2f}s), "
        f"{v['deep']['seconds']:.1f}s reading every line (--deep; check alone {v['deep']['check_s']:.2f}s)")
    res["raw_upload"] = ceiling.raw_s3_upload(BUCKET, f"raw-upload/{n}", res["ours"]["connector"]["data_bytes"])
    log(f"{name}: raw S3 upload of {res['raw_upload']['bytes']:,} bytes in {res['raw_upload']['seconds']:.2f}s")
    res["airflow"] = tools.airflow_export(name, BUCKET, f"airflow/{n}/", cfg["airflow_file_size"])
    log(f"{name}: Airflow operator: {res['airflow']}")
    if n <= cfg["dynamodump_max"]:
        dump = work / f"dump-{n}"
        dump.mkdir()
        backup = tools.dynamodump_backup(name, BUCKET, dump)
        # its restore is compared with ours, which runs up to restore_max
        restore = (tools.dynamodump_restore(name, f"{name}-dynamodump", dump)
                   if backup["ok"] and n <= cfg["restore_max"] else None)
        res["dynamodump"] = {"backup": backup, "restore": restore}
        log(f"{name}: dynamodump backup {backup['seconds']:.1f}s ok={backup['ok']}, restore "
            f"{restore and round(restore['seconds'], 1)}s ok={restore and restore['ok']}")
        if restore and restore["ok"]:
            count = client().describe_table(TableName=f"{name}-dynamodump")["Table"]["ItemCount"]
            res["dynamodump"]["restored_items"] = count
            client().delete_table(TableName=f"{name}-dynamodump")
        shutil.rmtree(dump, ignore_errors=True)
    if n <= cfg["restore_max"]:
        from launcher.backup.download import download

        folder = work / f"backup-{n}"
        download(res["ours"]["connector"]["export_uri"], folder, progress=lambda m: None)
        res["restore"] = restore_bench.compare(folder, str(n), n)
        log(f"{name}: restore {json.dumps(res['restore'])}")
        shutil.rmtree(folder, ignore_errors=True)
    client().delete_table(TableName=name)
    return res


def main() -> int:
    quick = os.environ.get("BENCH_QUICK") == "1"
    cfg = {
        "sizes": env_list("BENCH_SIZES", "5000" if quick else "20000,300000,1000000"),
        "scan_segments": env_list("BENCH_SCAN_SEGMENTS", "1,2,4,8"),
        "restore_max": int(os.environ.get("BENCH_RESTORE_MAX", "200000")),
        "dynamodump_max": int(os.environ.get("BENCH_DYNAMODUMP_MAX", "1000000")),
        "budget_items": int(os.environ.get("BENCH_BUDGET_ITEMS", "5000" if quick else "20000")),
        "read_target": int(os.environ.get("BENCH_READ_TARGET", "100" if quick else "200")),
        "write_target": int(os.environ.get("BENCH_WRITE_TARGET", "250" if quick else "1000")),
        "airflow_file_size": int(os.environ.get("BENCH_AIRFLOW_FILE_SIZE", "100000000")),
        "sets_items": 2000,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    tools.ensure_venvs()
    results: dict[str, Any] = {"config": cfg, "machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    for var in CLEARED_VARS:
        os.environ.pop(var, None)
    with LocalStack.start() as stack, tempfile.TemporaryDirectory(prefix="ddb-s3-bench-") as tmp:
        os.environ.update(stack.env())
        work = Path(tmp)
        client("s3").create_bucket(Bucket=BUCKET)
        log(f"local stack: dynalite {stack.dynamodb_endpoint}, moto {stack.s3_endpoint}; config {cfg}")

        # Fixed cost: the whole CLI run on a table of 10 items (Spark start, plan, verify, commit).
        make_table("bench-tiny", 10)
        # The first Spark run of a venv writes the class-data-sharing archive (~4 s, once): timed apart.
        results["first_spark_run_s"] = ours.export("bench-tiny", BUCKET, "connector", prefix="first")["wall_s"]
        results["fixed"] = {r: ours.export("bench-tiny", BUCKET, r, prefix="tiny") for r in ("connector", "segments")}
        results["fixed"]["python"] = ours.export("bench-tiny", BUCKET, "segments", prefix="tiny-python", engine="python")
        results["by_hand_s"] = min(ours.by_hand("bench-tiny", BUCKET) for _ in range(3))
        results["cli_start_s"] = min(ours.cli_start() for _ in range(3))
        results["boto3_import_s"] = min(ours.boto3_import() for _ in range(3))
        log(f"fixed cost: {[(r, round(v['wall_s'], 1), v['phases']) for r, v in results['fixed'].items()]}; "
            f"`ddb-s3 --help` {results['cli_start_s']:.2f}s, `import boto3` {results['boto3_import_s']:.2f}s")

        # Where a task's time goes, stage by stage, per item.
        make_table("bench-stages", STAGE_ITEMS)
        results["stages"] = stages.task_stages("bench-stages", BUCKET)
        log(f"stages (us/item): {results['stages']}")
        # The connector reader's decode of the same pages: SDK v2 against a streaming copy (issue 26.3).
        results["connector_decode"] = connector_decode.compare("bench-stages")
        log(f"connector decode (us/item): {results['connector_decode']}")

        # Sets and binary: Airflow's operator fails, ours exports every type.
        make_table("bench-sets", cfg["sets_items"], plain=False)
        results["sets"] = {"items": cfg["sets_items"],
                           "airflow": tools.airflow_export("bench-sets", BUCKET, "airflow-sets/", cfg["airflow_file_size"]),
                           "ours": ours.export("bench-sets", BUCKET, "connector", prefix="sets")}
        log(f"sets table: Airflow {results['sets']['airflow'].get('error') or 'ok'}; ours {results['sets']['ours']['items']} items")

        results["sizes"] = []
        for n in cfg["sizes"]:
            results["sizes"].append(one_size(n, cfg, work))
            (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))

        # verify as the export grows: stored checksums against reading every line.
        results["verify_scale"] = verify_scale.verify_scaling(BUCKET, env_list("BENCH_VERIFY_SIZES", "1000000,3000000"))

        # Read budget: PROVISIONED table, RCU * 0.5 = target.
        rcu = cfg["read_target"] * 2
        make_table("bench-rbudget", cfg["budget_items"], read_units=rcu, write_units=1000)
        make_table("bench-rbudget-long", 3 * cfg["budget_items"], read_units=rcu, write_units=1000)
        results["read_budget"] = [budget.read_budget("bench-rbudget", "bench-rbudget-long", BUCKET, r, rcu, 0.5)
                                  for r in ("segments", "connector")]
        log(f"read budget: {results['read_budget']}")

        # Write budget: restore (overwrite) an export of the budget table into a PROVISIONED table.
        from launcher.backup.download import download

        folder = work / "wbudget"
        exp = ours.export("bench-rbudget", BUCKET, "segments", "--read-percent", "1.5", prefix="wbudget")
        download(exp["export_uri"], folder, progress=lambda m: None)
        results["write_budget"] = restore_bench.write_budget(folder, "w", cfg["write_target"] * 2, 0.5)
        log(f"write budget: {results['write_budget']}")

    # Projection for EMR from the largest size's per-item CPU (segments reader and connector).
    big = results["sizes"][-1]
    results["projection"] = []
    for reader in ("connector", "segments"):
        r = big["ours"][reader]
        # Marginal CPU: the 10-item run's CPU (JVM and Spark start) taken off.
        cpu_per_item = max(0.0, r["cpu_s"] - results["fixed"][reader]["cpu_s"]) / big["items"]
        for budget_units, inst, nodes in ((10000, "m5.xlarge", 2), (40000, "m5.xlarge", 2), (40000, None, None)):
            results["projection"].append(projection.project(100, 1024, cpu_per_item * 1e6, budget_units, inst, nodes)
                                         | {"reader": reader, "cpu_s_per_item": cpu_per_item})
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    publish(results)
    return 0


def publish(results: dict[str, Any]) -> None:
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    md = render(results)
    (OUT / "results.md").write_text(md)
    print(md)
    plot = subprocess.run([str(tools.VENV / "bin/python"), str(ROOT / "bench/plot.py"), str(OUT / "results.json"),
                           str(OUT / "bench.png")], check=False, capture_output=True, text=True)
    print(f"plot: {OUT / 'bench.png'}" if plot.returncode == 0 else f"plot failed: {plot.stderr[-500:]}")


if __name__ == "__main__":
    sys.exit(main())
