#!/usr/bin/env python3
"""Test FVU against training tokens, one line per series, from the JSON lines of scripts/quality/ours.sh and
torch_quality.py (each with a "name" of the form "<series>@<steps>", as the results file holds them).

    python3 scripts/quality/plot_curves.py RESULTS.jsonl OUT.png SERIES[=LABEL] [SERIES[=LABEL]...] [--title T] [--l0]

--l0 writes each point's test L0 beside it (relu, whose L0 is not fixed).

Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def parser(doc, title):
    """The arguments both plots take: RESULTS OUT SERIES[=LABEL]... [--title T]."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("series", nargs="+", help="SERIES or SERIES=LABEL")
    ap.add_argument("--title", default=title)
    return ap


def series(a):
    """(label, [(steps, row)...]) for each SERIES[=LABEL] of the arguments, from the results file's rows named
    SERIES@STEPS; exits naming a series with none."""
    rows = [json.loads(line) for line in open(a.results) if line.strip()]
    out = []
    for spec in a.series:
        name, _, label = spec.partition("=")
        hits = []
        for r in rows:
            ser, _, steps = r.get("name", "").rpartition("@")
            if ser == name:
                hits.append((steps, r))
        if not hits:
            raise SystemExit(f"no results named {name}@STEPS in {a.results}")
        out.append((label or name, hits))
    return out


def finish(fig, ax, a, xlabel):
    """Log x axis, labels, grid and legend; writes the figure to the arguments' OUT."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test FVU (lower is better)")
    ax.set_title(a.title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out)


def main():
    ap = parser(__doc__, "held-out FVU against training tokens")
    ap.add_argument("--l0", action="store_true", help="label each point with its test L0")
    a = ap.parse_args()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for label, hits in series(a):
        pts = sorted((r.get("tokens") or int(steps) * r["batch"], r["test_fvu"], r["test_l0"]) for steps, r in hits)
        line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        if a.l0:
            for t, fvu, l0 in pts:
                ax.annotate(f"L0 {l0:.0f}", (t, fvu), textcoords="offset points", xytext=(4, 4), fontsize=7,
                            color=line.get_color())
    finish(fig, ax, a, "training tokens")

if __name__ == "__main__":
    main()
