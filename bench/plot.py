"""Runs in the bench venv (matplotlib lives there, not in the project's venv):
python bench/plot.py bench/out/results.json bench/out/bench.png"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> int:
    with open(sys.argv[1]) as f:
        res = json.load(f)
    sizes = list(res["sizes"])
    series = {
        "raw Scan (ceiling)": lambda s: s["items"] / s["raw_scan"]["seconds"],
        "ours, connector (job)": lambda s: s["items"] / s["ours"]["connector"]["job_s"],
        "ours, segments (job)": lambda s: s["items"] / s["ours"]["segments"]["job_s"],
        "ours, connector (wall)": lambda s: s["items"] / s["ours"]["connector"]["wall_s"],
        "Airflow operator (wall)": lambda s: s["items"] / s["airflow"]["wall_s"] if s.get("airflow", {}).get("ok") else 0,
        "dynamodump backup (wall)": lambda s: s["items"] / s["dynamodump"]["backup"]["seconds"] if s.get("dynamodump") else 0,
    }
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.8 / len(series)
    for i, (name, f) in enumerate(series.items()):
        vals = []
        for s in sizes:
            try:
                vals.append(f(s))
            except (KeyError, ZeroDivisionError, TypeError):
                vals.append(0)
        ax.bar([x + i * width for x in range(len(sizes))], vals, width, label=name)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(sizes))], [f"{s['items']:,}" for s in sizes])
    ax.set_xlabel("items (~1 KB)")
    ax.set_ylabel("items / s")
    ax.set_title("export throughput (one run, local stack)")
    ax.legend(fontsize=8)
    for key, label in (("root", "launcher"), ("driver", "Spark driver JVM"), ("workers", "Python workers")):
        ax2.plot([s["items"] for s in sizes], [s["ours"]["connector"]["rss_mib"][key] for s in sizes], "o-",
                 label=f"{label} (connector)")
    ax2.set_xscale("log")
    ax2.set_xlabel("items")
    ax2.set_ylabel("peak RSS, MiB")
    ax2.set_title("peak memory as the table grows")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
