#!/usr/bin/env python3
"""Schedule search table: per schedule and seed the final accuracy, the median of the last 3
epochs, the robust training-step time (per level: epochs x median epoch time) and the time
estimated from block counts (epochs x the level's cost relative to deep, from COST), paired
against the deep baseline of the same seed."""
import json, glob, os, statistics, sys
root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
baseline = sys.argv[2] if len(sys.argv) > 2 else "deep-cos"
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
    print(f"| {name} | {','.join(map(str, seeds))} | {pm(fin)} | {pm(med)} | "
          f"{', '.join(f'{x:+.2f}' for x in d) or '–'} | {', '.join(f'{x:.2f}×' for x in est) or '–'} | {', '.join(f'{x:.2f}×' for x in meas) or '–'} |")
