#!/usr/bin/python3
"""Recall/QPS plot and summary table from `vjvector-bench ann --json` runs.

Each input file is the stdout of one run (its JSON lines are read, the rest ignored). Several runs of the
same configuration give medians: for every engine/variant and ef, the median QPS (1 thread and N threads)
and distance evaluations per query; for the table, each run's best QPS at recall >= 0.90 / 0.95 / 0.99 and
its ratio to hnswlib's in the SAME run (a shared machine's load moves both), then the median over runs.

    bench/ann_plot.py --png docs/img/ann-wnuse.png --title "wordnet-use 27k" run1.txt run2.txt run3.txt

writes the PNG with Debian's gnuplot (apt-get install gnuplot-nox; scripts/install-deps.sh installs it)
and prints a Markdown table for docs/benchmarks.md. Python 3 standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TARGETS = (0.90, 0.95, 0.99)


def read_runs(paths):
    runs = []
    for path in paths:
        rows = []
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{") and '"recall"' in line:
                    rows.append(json.loads(line))
        if rows:
            runs.append(rows)
    return runs


def variant(row):
    return row.get("variant", row["engine"])


def best_at(rows, name, target):
    """(qps, qps_threads, dist) of the fastest sweep point of `name` reaching `target`, or None."""
    best = None
    for r in rows:
        if variant(r) == name and r["recall"] >= target and (best is None or r["qps"] > best[0]):
            best = (r["qps"], r.get("qps_threads", 0), r.get("dist_per_query", -1))
    return best


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec):
    return "-" if v is None or v <= 0 else format(v, spec)


def table(runs):
    names = []
    for rows in runs:
        for r in rows:
            if variant(r) not in names:
                names.append(variant(r))
    out = ["| engine | " + " | ".join(f"QPS @{t:.2f} (x hnswlib)" for t in TARGETS) +
           f" | 2-thread QPS @0.95 | dist/query @0.95 (x hnswlib) | max recall | bytes/vector | build s |",
           "|---" * 9 + "|"]
    for name in names:
        cells = []
        for t in TARGETS:
            qps = med([(best_at(rows, name, t) or (None,))[0] for rows in runs])
            ratios = []
            for rows in runs:
                mine, peer = best_at(rows, name, t), best_at(rows, "hnswlib", t)
                if mine and peer and name != "hnswlib":
                    ratios.append(mine[0] / peer[0])
            ratio = med(ratios)
            cells.append(fmt(qps, ",.0f") + (f" ({ratio:.2f}x)" if ratio else ""))
        threads = med([(best_at(rows, name, 0.95) or (None, None))[1] for rows in runs])
        dists, dist_ratios = [], []
        for rows in runs:
            mine, peer = best_at(rows, name, 0.95), best_at(rows, "hnswlib", 0.95)
            if mine and mine[2] > 0:
                dists.append(mine[2])
                if peer and peer[2] > 0 and name != "hnswlib":
                    dist_ratios.append(mine[2] / peer[2])
        dist, dist_ratio = med(dists), med(dist_ratios)
        max_recall = med([max((r["recall"] for r in rows if variant(r) == name), default=None) for rows in runs])
        some = [r for rows in runs for r in rows if variant(r) == name]
        bpv = med([r["bytes_per_vector"] for r in some])
        build = med([r["build_s"] for r in some])
        out.append(f"| {name} | " + " | ".join(cells) + f" | {fmt(threads, ',.0f')} | " +
                   fmt(dist, ",.0f") + (f" ({dist_ratio:.2f}x)" if dist_ratio else "") +
                   f" | {fmt(max_recall, '.4f')} | {fmt(bpv, ',.0f')} | {fmt(build, '.1f')} |")
    return "\n".join(out)


def plot(runs, png, title):
    curves = {}
    for rows in runs:
        for r in rows:
            curves.setdefault(variant(r), {}).setdefault(r["ef"], []).append((r["recall"], r["qps"]))
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, (name, by_ef) in enumerate(curves.items()):
            data = os.path.join(tmp, f"{i}.dat")
            with open(data, "w") as f:
                for ef in sorted(by_ef):
                    points = by_ef[ef]
                    f.write(f"{med([p[0] for p in points])} {med([p[1] for p in points])} {ef}\n")
            plots.append(f"'{data}' using 1:2 with linespoints title '{name}'")
        script = "\n".join([
            "set terminal png size 1000,640 noenhanced",
            f"set output '{png}'",
            f"set title '{title}'",
            "set xlabel 'recall@10'",
            "set ylabel 'queries per second (1 thread, log scale)'",
            "set logscale y",
            "set grid",
            "set key bottom left",
            "plot " + ", ".join(plots),
        ])
        subprocess.run(["gnuplot"], input=script.encode(), check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="stdout files of vjvector-bench ann --json")
    ap.add_argument("--png", help="write the recall/QPS plot here (needs gnuplot)")
    ap.add_argument("--title", default="recall vs QPS")
    args = ap.parse_args()
    runs = read_runs(args.runs)
    if not runs:
        sys.exit("no JSON result lines in the inputs (run the bench with --json)")
    if args.png:
        plot(runs, args.png, args.title)
    print(f"{len(runs)} run(s); medians over runs, ratios from the same run\n")
    print(table(runs))


if __name__ == "__main__":
    main()
