#!/usr/bin/env python3
"""Schedule search table: per schedule and seed the final accuracy, the median of the last 3
epochs, the robust training-step time (per level: epochs x median epoch time) and the time
estimated from block counts (epochs x the level's cost relative to deep, from COST), paired
against the deep baseline of the same seed."""
import json, glob, os, statistics, sys
args = [a for i, a in enumerate(sys.argv[1:]) if a != "--svg" and (i == 0 or sys.argv[i] != "--svg")]
root = args[0] if args else os.path.dirname(os.path.abspath(__file__))
baseline = args[1] if len(args) > 1 else "deep-cos"
COST = {1: 0.372, 2: 0.686, 3: 1.0}   # epoch cost per blocks/group relative to 3 blocks
runs = {}
for d in sorted(glob.glob(os.path.join(root, "*-s[0-9]*"))):
    name, seed = os.path.basename(d).rsplit("-s", 1)
    files = glob.glob(os.path.join(d, "*", "metrics.jsonl")) + glob.glob(os.path.join(d, "metrics.jsonl"))
    if not files: continue
    rows = [json.loads(l) for l in open(files[0]) if l.strip()]
    if not rows: continue
    done = bool(glob.glob(os.path.join(d, "*", "summary.json")) + glob.glob(os.path.join(d, "summary.json")))
    levels = {}
    for r in rows: levels.setdefault(r["level"], []).append(r["epochSeconds"])
    robust = sum(len(v) * statistics.median(v) for v in levels.values())
    units = sum(COST[r["blocks"][0]] for r in rows)
    runs[(name, int(seed))] = dict(acc=[r["testMetric"] for r in rows], done=done, robust=robust, units=units,
                                   epochs=len(rows))
def mean_sd(xs):
    return (statistics.mean(xs), statistics.stdev(xs) if len(xs) > 1 else float("nan"))
frontier = []   # (schedule, seeds, estimated time ratios, accuracy differences) for the chart
print(f"| schedule | seeds | final acc % | median last 3 % | Δ final vs {baseline} (points, per seed) | est. time vs {baseline} | measured robust time vs {baseline} |")
print("|---|---|---|---|---|---|---|")
for name in sorted({k[0] for k in runs}):
    seeds = sorted(s for (n, s) in runs if n == name and runs[(n, s)]["done"])
    if not seeds: 
        r = [runs[(n, s)] for (n, s) in runs if n == name][0]
        print(f"| {name} | running ({r['epochs']} epochs) | {100*r['acc'][-1]:.2f} | | | | |"); continue
    fin = [runs[(name, s)]["acc"][-1] for s in seeds]
    med = [statistics.median(runs[(name, s)]["acc"][-3:]) for s in seeds]
    d, est, meas = [], [], []
    for s in seeds:
        b = runs.get((baseline, s))
        if b and b["done"]:
            d.append(100 * (runs[(name, s)]["acc"][-1] - b["acc"][-1]))
            est.append(runs[(name, s)]["units"] / b["units"])
            meas.append(runs[(name, s)]["robust"] / b["robust"])
    def pm(xs):
        m, sd = mean_sd(xs)
        return f"{100*m:.2f}" + ("" if sd != sd else f" ± {100*sd:.2f}")
    if d: frontier.append((name, seeds, est, d))
    print(f"| {name} | {','.join(map(str, seeds))} | {pm(fin)} | {pm(med)} | "
          f"{', '.join(f'{x:+.2f}' for x in d) or '–'} | {', '.join(f'{x:.2f}×' for x in est) or '–'} | {', '.join(f'{x:.2f}×' for x in meas) or '–'} |")

# --svg FILE: the frontier, each schedule's final accuracy against deep-cos (points, paired by seed)
# over its estimated training-step time relative to deep: a dot per seed, a bar from the lowest to
# the highest seed, the goal (≥ -0.3 points at ≤ 0.65×) shaded.
if "--svg" in sys.argv:
    W, H, L, R, T, B = 720, 420, 70, 170, 40, 50
    # The y range is -4 … +4 points: a seed beyond it is drawn at the edge as a triangle, its value beside.
    xs, ys = (0.45, 1.05), (-4.0, 4.0)
    X = lambda v: L + (v - xs[0]) / (xs[1] - xs[0]) * (W - L - R)
    Y = lambda v: T + (ys[1] - v) / (ys[1] - ys[0]) * (H - T - B)
    colors = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="22" font-size="15" font-weight="bold">Schedules at mid scale: accuracy vs deep-cos against time (10 epochs)</text>',
           f'<rect x="{X(xs[0]):.1f}" y="{Y(ys[1]):.1f}" width="{X(0.65) - X(xs[0]):.1f}" height="{Y(-0.3) - Y(ys[1]):.1f}" fill="#e8f5e9"/>',
           f'<text x="{X(xs[0]) + 4:.1f}" y="{Y(ys[1]) + 14:.1f}" fill="#2e7d32">goal: ≥ −0.3 points at ≤ 0.65×</text>']
    for v in [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]:
        out.append(f'<line x1="{X(v):.1f}" x2="{X(v):.1f}" y1="{T}" y2="{H - B}" stroke="#eee"/><text x="{X(v):.1f}" y="{H - B + 16}" text-anchor="middle">{v:.1f}×</text>')
    k = int(ys[0])
    while k <= ys[1]:
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{Y(k):.1f}" y2="{Y(k):.1f}" stroke="{"#999" if k == 0 else "#eee"}"/><text x="{L - 6}" y="{Y(k) + 4:.1f}" text-anchor="end">{k:+d}</text>')
        k += 1
    out.append(f'<text x="{(L + W - R) / 2:.0f}" y="{H - 12}" text-anchor="middle">estimated training-step time relative to deep (by blocks per epoch)</text>')
    out.append(f'<text transform="translate(18 {(T + H - B) / 2:.0f}) rotate(-90)" text-anchor="middle">final accuracy − deep-cos (points, same seed)</text>')
    for i, (name, seeds, est, d) in enumerate(frontier):
        c = colors[i % len(colors)]
        x = X(statistics.mean(est)) + 7 * (i % 3 - 1)   # schedules at one cost side by side
        clip = lambda v: min(max(v, ys[0]), ys[1])
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{Y(clip(min(d))):.1f}" y2="{Y(clip(max(d))):.1f}" stroke="{c}" stroke-width="2"/>')
        off = {-1: [], 1: []}   # seeds beyond the range: one triangle per edge, their values listed beside it
        for v in d:
            if clip(v) == v:
                out.append(f'<circle cx="{x:.1f}" cy="{Y(v):.1f}" r="4" fill="{c}"/>')
            else:
                off[1 if v < ys[0] else -1].append(v)
        for s, vals in off.items():
            if vals:
                y = Y(ys[0] if s == 1 else ys[1])
                out.append(f'<path d="M{x - 5:.1f},{y - 8 * s:.1f} L{x + 5:.1f},{y - 8 * s:.1f} L{x:.1f},{y:.1f} Z" fill="{c}"/>'
                           f'<text x="{x - 8:.1f}" y="{y - 4 * s:.1f}" text-anchor="end" fill="{c}">{", ".join(f"{v:+.1f}" for v in vals)}</text>')
        ly = T + 16 + 18 * i
        out.append(f'<circle cx="{W - R + 14}" cy="{ly - 4}" r="4" fill="{c}"/><text x="{W - R + 24}" y="{ly}">{name} ({len(seeds)} seed{"s" if len(seeds) > 1 else ""})</text>')
    out.append("</svg>")
    open(sys.argv[sys.argv.index("--svg") + 1], "w").write("\n".join(out) + "\n")
