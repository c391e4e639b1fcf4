#!/usr/bin/env python3
"""Independent check of a resnet-dist regression checkpoint: load it with Python's safetensors,
recompute the MLP's predictions in numpy (float64) from the stored weights, h and integrator, and
compare them with the predictions `resnet-dist eval --predictions` wrote.

usage: checkpoint_predict.py CHECKPOINT PREDICTIONS.csv  -> prints the max abs difference, exit 1 if > 1e-5
"""
import json
import sys

import numpy as np
from safetensors import safe_open

TABLEAUX = {  # a (strictly lower triangular), b
    "euler": ([[]], [1.0]),
    "midpoint": ([[], [0.5]], [0.0, 1.0]),
    "heun": ([[], [1.0]], [0.5, 0.5]),
    "rk4": ([[], [0.5], [0.0, 0.5], [0.0, 0.0, 1.0]], [1 / 6, 1 / 3, 1 / 3, 1 / 6]),
}
ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
}


def main(checkpoint, predictions_csv):
    with safe_open(checkpoint, "np") as f:
        meta = f.metadata()
        w = {k: f.get_tensor(k).astype(np.float64) for k in f.keys()}
    spec = json.loads(meta["model_spec"])
    assert spec["kind"] == "mlp", "this check is for the regression MLP"
    a, b = TABLEAUX[meta["integrator"]]
    h = float(meta["h"])
    sigma = ACTIVATIONS[meta["activation"]]
    blocks = int(meta["blocks_per_group"])

    data = np.loadtxt(predictions_csv, delimiter=",", skiprows=1, ndmin=2)
    x, swift_pred = data[:, 0:1], data[:, 2]
    # `input-scaling: standard` in the run's config: the network sees (x - pi) / (pi / sqrt 3).
    config = dict(line.split(": ", 1) for line in meta.get("config", "").splitlines() if ": " in line)
    if config.get("input-scaling", "raw").strip() == "standard":
        x = (x - np.pi) / (np.pi / np.sqrt(3))

    def linear(name, v):  # weights are [out, in]
        return v @ w[name + ".weight"].T + w[name + ".bias"]

    y = linear("stem", x)
    for i in range(blocks):
        p = f"groups.0.blocks.{i}"
        F = lambda z: linear(p + ".fc2", sigma(linear(p + ".fc1", z)))
        k = []
        for s in range(len(b)):
            z = y + h * sum((a[s][j] * k[j] for j in range(s)), np.zeros_like(y))
            k.append(F(z))
        y = y + h * sum(bi * ki for bi, ki in zip(b, k))
    ours = linear("head", y)[:, 0]
    diff = np.max(np.abs(ours - swift_pred))
    print(f"{len(x)} test points, {blocks} blocks, h {h}, {meta['integrator']}: max |numpy - resnet-dist| = {diff:.3g}")
    return 0 if diff <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
