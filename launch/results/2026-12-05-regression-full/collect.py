#!/usr/bin/env python3
"""Gathers the small results of run-resnet-dist.sh and run-peer.sh into this directory and prints
the comparison table (Markdown) that README.md carries. Run from the repository root with a
Python that has numpy and safetensors (the mean predictor is recomputed from the data that
`resnet-dist export-peer` writes, independently of resnet-dist's own `trivialMetric`):

    ~/torchenv/bin/python launch/results/2026-12-05-regression-full/collect.py > /tmp/table.md

With --charts-only it redraws the test-error-norm-vs-peer.svg charts from the files kept here.
"""
import csv
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from metrics_to_csv import main as metrics_to_csv  # noqa: E402

EXPERIMENTS = ["regression", "rk2-regression", "rk2-multilevel"]
BIN = ".build/release/resnet-dist"


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def mean_predictor(run_dir):
    """‖y_test − mean(y_train)‖₂ and ‖y_test − mean(y_test)‖₂ from the exported data."""
    import numpy as np  # only here: --charts-only needs neither numpy nor safetensors
    from safetensors.numpy import load_file
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "export.safetensors")
        subprocess.run([BIN, "export-peer", path, "--config", os.path.join(run_dir, "config.yaml")],
                       check=True, capture_output=True)
        t = load_file(path)
    ytr, yte = t["data.train.y"].astype(np.float64).ravel(), t["data.test.y"].astype(np.float64).ravel()
    return float(np.linalg.norm(yte - ytr.mean())), float(np.linalg.norm(yte - yte.mean()))


def divergence_epoch(ours, peer, tolerance=1e-3):
    """First epoch whose test metric differs by more than `tolerance` relative between the two."""
    for a, b in zip(ours, peer):
        x, y = float(a["test_error_norm"]), float(b["test_error_norm"])
        if abs(x - y) > tolerance * max(abs(x), abs(y)):
            return int(a["epoch"])
    return None


def level_epoch_medians(rows):
    """Median seconds of one training epoch at each level (resnet-dist's own epochSeconds)."""
    levels = {}
    for r in rows:
        levels.setdefault(r["level"], []).append(float(r["epoch_seconds"]))
    return " / ".join("%.2f" % (1000 * statistics.median(v)) for _, v in sorted(levels.items()))


def robust_seconds(rows):
    """Training time with the machine's interference taken out: per level, its number of epochs
    times its median epoch time (the shared 2-core machine stalls single epochs by up to 0.3 s)."""
    levels = {}
    for r in rows:
        levels.setdefault(r["level"], []).append(float(r["epoch_seconds"]))
    return sum(len(v) * statistics.median(v) for v in levels.values())


def first_fit(rows, threshold):
    """(epoch, cumulative training seconds) of the first epoch with test error norm <= threshold."""
    for r in rows:
        if float(r["test_error_norm"]) <= threshold:
            return int(r["epoch"]), float(r["wall_seconds"])
    return None, None


# The reports' palette and layout (Sources/ResNetReport/LineChart.swift, SVGWriter.swift), so that
# these charts read like the run reports beside them.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
SHAPES = ["circle", "square", "triangle", "diamond"]


def _shape(kind, x, y, r=3.6):
    if kind == "circle":
        return f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{r:.2f}"/>'
    if kind == "square":
        return f'<rect x="{x - r:.2f}" y="{y - r:.2f}" width="{2 * r:.2f}" height="{2 * r:.2f}"/>'
    if kind == "triangle":
        return f'<path d="M{x:.2f},{y - 1.2 * r:.2f} L{x + 1.1 * r:.2f},{y + 0.8 * r:.2f} L{x - 1.1 * r:.2f},{y + 0.8 * r:.2f} Z"/>'
    return f'<path d="M{x:.2f},{y - 1.3 * r:.2f} L{x + 1.1 * r:.2f},{y:.2f} L{x:.2f},{y + 1.3 * r:.2f} L{x - 1.1 * r:.2f},{y:.2f} Z"/>'


def _nice_step(span, count=8):
    raw = span / count
    k = 10 ** math.floor(math.log10(raw))
    return next(m * k for m in (1, 2, 5, 10) if m * k >= raw)


def overlay_svg(path, title, curves, mean_predictor, points=1000):
    """Test error norm per epoch (log scale): each variant in its colour and marker, resnet-dist
    solid, the peer dashed, the mean predictor dotted; x and y labelled and ticked as in the run
    reports. Curves longer than `points` epochs are drawn at every k-th epoch."""
    W, H, L, R, T, B = 820, 440, 78, 200, 44, 56
    epochs = max(len(c[1]) for c in curves)
    ys = [v for c in curves for series in c[1:] for v in series if v > 0] + [mean_predictor]
    lo, hi = math.floor(math.log10(min(ys)) * 5) / 5, math.ceil(math.log10(max(ys)) * 5) / 5
    px = lambda e: L + (W - L - R) * (e - 1) / max(1, epochs - 1)
    py = lambda v: T + (H - T - B) * (hi - math.log10(v)) / (hi - lo)
    step = max(1, epochs // points)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
           f'<rect width="{W}" height="{H}" fill="#ffffff"/>',
           f'<text x="{L}" y="26" font-size="16" font-weight="bold">{title}</text>']
    for k in range(math.floor(lo), math.ceil(hi) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** k
            if lo <= math.log10(v) <= hi:
                out.append(f'<line x1="{L}" y1="{py(v):.2f}" x2="{W - R}" y2="{py(v):.2f}" stroke="{"#dddddd" if m == 1 else "#eeeeee"}"/>')
                out.append(f'<text x="{L - 6}" y="{py(v) + 4:.2f}" font-size="11" text-anchor="end">{v:g}</text>')
    tick = _nice_step(epochs)
    for e in range(0, epochs + 1, tick):
        x = px(max(1, e))
        out.append(f'<line x1="{x:.2f}" y1="{T}" x2="{x:.2f}" y2="{H - B}" stroke="#eeeeee"/>')
        out.append(f'<line x1="{x:.2f}" y1="{H - B}" x2="{x:.2f}" y2="{H - B + 5}" stroke="#444444"/>')
        out.append(f'<text x="{x:.2f}" y="{H - B + 18}" font-size="11" text-anchor="middle">{max(1, e)}</text>')
    out.append(f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="none" stroke="#444444" stroke-width="1"/>')
    out.append(f'<text x="{(L + W - R) / 2}" y="{H - 14}" font-size="13" text-anchor="middle">epoch</text>')
    out.append(f'<text x="18" y="{(T + H - B) / 2}" font-size="13" text-anchor="middle" '
               f'transform="rotate(-90 18 {(T + H - B) / 2})">test error norm ‖prediction − truth‖₂ (log scale)</text>')
    y = py(mean_predictor)
    out.append(f'<line x1="{L}" y1="{y:.2f}" x2="{W - R}" y2="{y:.2f}" stroke="#333333" stroke-width="1.2" stroke-dasharray="2 3"/>')
    legend = []
    for i, (name, ours, peer) in enumerate(curves):
        colour, shape = COLOURS[i % len(COLOURS)], SHAPES[i % len(SHAPES)]
        for j, (series, dash, label) in enumerate(((ours, "", name), (peer, ' stroke-dasharray="7 3"', f"{name} (PyTorch peer)"))):
            pts = " ".join(f"{px(e + 1):.2f},{py(series[e]):.2f}" for e in range(0, len(series), step) if series[e] > 0)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dash} stroke-linejoin="round" points="{pts}"/>')
            # About 12 markers, each curve at another offset, so coinciding curves stay visible.
            every = max(1, len(series) // 12)
            offset = every * (2 * i + j) // (2 * len(curves))
            marks = "".join(_shape(shape, px(e + 1), py(series[e])) for e in range(offset, len(series), every) if series[e] > 0)
            fill = colour if j == 0 else "#ffffff"
            out.append(f'<g fill="{fill}" stroke="{colour if j else "#ffffff"}" stroke-width="1">{marks}</g>')
            legend.append((label, colour, dash, shape, fill, colour if j else "#ffffff"))
    x0, y0 = W - R + 16, T + 6
    for row, (label, colour, dash, shape, fill, stroke) in enumerate(legend):
        yy = y0 + 20 * row
        out.append(f'<line x1="{x0}" y1="{yy}" x2="{x0 + 24}" y2="{yy}" stroke="{colour}" stroke-width="2.1"{dash}/>')
        out.append(f'<g fill="{fill}" stroke="{stroke}" stroke-width="1">{_shape(shape, x0 + 12, yy)}</g>')
        out.append(f'<text x="{x0 + 30}" y="{yy + 4}" font-size="12">{label}</text>')
    yy = y0 + 20 * len(legend)
    out.append(f'<line x1="{x0}" y1="{yy}" x2="{x0 + 24}" y2="{yy}" stroke="#333333" stroke-width="1.2" stroke-dasharray="2 3"/>')
    out.append(f'<text x="{x0 + 30}" y="{yy + 4}" font-size="12">mean predictor</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def overlay_title(exp):
    return f"{exp}: test error norm, resnet-dist and the PyTorch peer, np 2"


def redraw_charts():
    """Redraws every test-error-norm-vs-peer.svg from the files kept here (no runs needed)."""
    for exp in EXPERIMENTS:
        out = os.path.join(HERE, exp)
        order = [c["variant"] for c in json.load(open(os.path.join(out, "compare-configs.json")))]
        curves, trivial = [], None
        for variant in order:
            vdir = os.path.join(out, variant)
            o = [float(r["test_error_norm"]) for r in read_csv(os.path.join(vdir, "metrics.csv"))]
            p = [float(r["test_error_norm"]) for r in read_csv(os.path.join(vdir, "peer-epochs.csv"))]
            curves.append((variant, o, p))
            trivial = json.load(open(os.path.join(vdir, "summary.json")))["trivialMetric"]
        overlay_svg(os.path.join(out, "test-error-norm-vs-peer.svg"), overlay_title(exp), curves, trivial)


def main():
    table = []
    for exp in EXPERIMENTS:
        cmp_dir = sorted(glob.glob(f"runs/{exp}-compare-*"))[-1]
        out = os.path.join(HERE, exp)
        os.makedirs(out, exist_ok=True)
        for name in ["comparison.md", "compare-configs.json", "loss.svg", "metric.svg", "cost.svg", "fit.svg"]:
            shutil.copy(os.path.join(cmp_dir, name), out)
        log = open(f"runs/{exp}-compare.log").read()
        with open(os.path.join(out, "compare-output.txt"), "w") as f:
            f.write(f"# tail of `resnet-dist compare --experiment {exp}` at np 2 ({os.path.basename(cmp_dir)})\n")
            f.write(log[log.rindex(f"{exp} on "):])
        order = [c["variant"] for c in json.load(open(os.path.join(cmp_dir, "compare-configs.json")))]
        curves = []
        for variant in order:
            run = glob.glob(os.path.join(cmp_dir, f"{exp}-{variant}-2026*"))[0]
            vdir = os.path.join(out, variant)
            os.makedirs(vdir, exist_ok=True)
            shutil.copy(os.path.join(run, "config.yaml"), vdir)
            summary = json.load(open(os.path.join(run, "summary.json")))
            history = summary.pop("history")
            summary["historyOmitted"] = f"{len(history)} epochs: identical to metrics.jsonl, see metrics.csv"
            summary["history"] = []
            with open(os.path.join(vdir, "summary.json"), "w") as f:
                json.dump(summary, f, indent=1)
                f.write("\n")
            ours_csv = os.path.join(vdir, "metrics.csv")
            metrics_to_csv(os.path.join(run, "metrics.jsonl"), ours_csv)
            ours, peer = read_csv(ours_csv), read_csv(os.path.join(vdir, "peer-epochs.csv"))
            assert len(ours) == len(peer) == summary["epochs"], (exp, variant, len(ours), len(peer))
            mp_train, mp_test = mean_predictor(run)
            o = [float(r["test_error_norm"]) for r in ours]
            p = [float(r["test_error_norm"]) for r in peer]
            curves.append((variant, o, p))
            fit_epoch, fit_seconds = first_fit(ours, 0.15 * summary["trivialMetric"])
            peer_fit_epoch, _ = first_fit(peer, 0.15 * summary["trivialMetric"])
            table.append({
                "fit_epoch": fit_epoch, "fit_seconds": fit_seconds, "peer_fit_epoch": peer_fit_epoch,
                "robust_seconds": robust_seconds(ours),
                "experiment": exp, "variant": variant,
                "blocks": summary["finalBlocks"][0], "epochs": summary["epochs"],
                "final_ours": o[-1], "final_peer": p[-1],
                "median100_ours": statistics.median(o[-100:]), "median100_peer": statistics.median(p[-100:]),
                "best_ours": min(o), "best_peer": min(p),
                "mean_predictor": summary["trivialMetric"], "mean_predictor_check": mp_train,
                "test_mean_norm": mp_test,
                "diverge": divergence_epoch(ours, peer),
                "train_seconds": summary["trainSeconds"], "level_seconds": summary["levelSeconds"],
                "epoch_ms": level_epoch_medians(ours), "peer_seconds": float(peer[-1]["wall_seconds"]),
                "switches": [(s["epoch"], round(s["metricBefore"], 3), round(s["metricAfter"], 3))
                             for s in summary["switches"]],
            })
        overlay_svg(os.path.join(out, "test-error-norm-vs-peer.svg"), overlay_title(exp), curves, table[-1]["mean_predictor"])
    json.dump(table, open(os.path.join(HERE, "table.json"), "w"), indent=1)
    print("| experiment | variant | blocks | final test error norm: resnet-dist / peer / mean predictor "
          "| median of last 100 epochs: resnet-dist / peer | best epoch: resnet-dist / peer "
          "| curves part (> 0.1 %) at epoch | resnet-dist train s (per level) | median ms per epoch (per level) "
          "| robust train s | first epoch ≤ 15 % of mean predictor: resnet-dist (s) / peer | peer wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in table:
        print(f"| {t['experiment']} | {t['variant']} | {t['blocks']} | {t['final_ours']:.3f} / {t['final_peer']:.3f} / "
              f"{t['mean_predictor']:.2f} | {t['median100_ours']:.3f} / {t['median100_peer']:.3f} | "
              f"{t['best_ours']:.3f} / {t['best_peer']:.3f} | {t['diverge'] or 'never'} | "
              f"{t['train_seconds']:.2f} ({' / '.join('%.2f' % s for s in t['level_seconds'])}) | {t['epoch_ms']} | "
              f"{t['robust_seconds']:.2f} | "
              + (f"{t['fit_epoch']} ({t['fit_seconds']:.2f} s)" if t['fit_epoch'] else "never")
              + f" / {t['peer_fit_epoch'] or 'never'} | {t['peer_seconds']:.1f} |")
    print()
    for t in table:
        print(f"{t['experiment']}/{t['variant']}: mean predictor resnet-dist {t['mean_predictor']:.6f}, "
              f"recomputed {t['mean_predictor_check']:.6f} (test-set mean: {t['test_mean_norm']:.6f}); "
              f"switches (epoch, before, after): {t['switches']}")


if __name__ == "__main__":
    redraw_charts() if sys.argv[1:] == ["--charts-only"] else main()
