#!/usr/bin/env python3
"""The L0-FVU frontier: held-out FVU against held-out L0, one line per architecture, from the JSON
lines of scripts/quality/ours.sh (each with a "name" of the form "<series>@<steps>"; a series holds one architecture's
points, one per value of its sparsity knob).

    python3 scripts/quality/plot_frontier.py RESULTS.jsonl OUT.png SERIES[=LABEL] [SERIES[=LABEL]...] [--title T]
        [--at 32,64]

--at prints each series' FVU at those L0s, interpolated linearly in log L0 between the two points that bracket it
(a point within 2 % of the L0 is taken as is; "-" where no two points bracket it: the knob did not reach it).

Needs matplotlib (Debian: python3-matplotlib).
"""
import math

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_curves import finish, parser, series  # noqa: E402  (beside this script)


def at_l0(pts, l0):
    """FVU at l0 from (L0, FVU) points sorted by L0, as text: linear in log L0 between the bracketing pair."""
    for p_l0, fvu in pts:
        if abs(p_l0 - l0) <= 0.02 * l0:
            return f"{fvu:.4f}"
    for (l0a, fa), (l0b, fb) in zip(pts, pts[1:]):
        if l0a < l0 < l0b:
            t = (math.log(l0) - math.log(l0a)) / (math.log(l0b) - math.log(l0a))
            return f"{fa + t * (fb - fa):.4f}"
    return "-"


def main():
    ap = parser(__doc__, "held-out FVU against L0")
    ap.add_argument("--at", help="comma-separated L0s at which to print each series' interpolated FVU")
    a = ap.parse_args()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for label, hits in series(a):
        pts = sorted((r["test_l0"], r["test_fvu"]) for _, r in hits)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        if a.at:
            print(label, *(f"L0 {x}: {at_l0(pts, float(x))}" for x in a.at.split(",")), sep="  ")
    finish(fig, ax, a, "test L0 (latents active per token)")

if __name__ == "__main__":
    main()
