#!/usr/bin/env python3
"""Mean and sample standard deviation, over runs of `medcil cil run` that differ only in their
seed, of each method's final accuracy, average incremental accuracy, forgetting and BWT (the
runs' results.json), as a Markdown table; also each method's rank range in final accuracy.

Usage: scripts/cil-spread.py RUN_FOLDER [RUN_FOLDER ...]
"""
import json
import statistics
import sys

runs = [json.load(open(f"{folder}/results.json")) for folder in sys.argv[1:]]
methods = [m["method"] for m in runs[0]["methods"]]
keys = [("final_accuracy", "final acc %"), ("average_incremental_accuracy", "avg incr acc %"),
        ("forgetting", "forgetting %"), ("backward_transfer", "BWT %")]


def cell(values):
    values = [100 * v for v in values]
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {sd:.1f}"


ranks = {m: [] for m in methods}
for run in runs:
    order = sorted(run["methods"], key=lambda m: -m["final_accuracy"])
    for rank, m in enumerate(order, 1):
        ranks[m["method"]].append(rank)
print(f"| method | {' | '.join(label for _, label in keys)} | final acc per seed % | rank (final acc) |")
print("|---|" + "---|" * (len(keys) + 2))
for name in methods:
    rows = [next(m for m in run["methods"] if m["method"] == name) for run in runs]
    cells = [cell([r[key] for r in rows]) for key, _ in keys]
    per_seed = " / ".join(f"{100 * r['final_accuracy']:.1f}" for r in rows)
    print(f"| {name} | {' | '.join(cells)} | {per_seed} | {min(ranks[name])}–{max(ranks[name])} |")
print(f"\n{len(runs)} runs: {', '.join(sys.argv[1:])}")
