#!/usr/bin/env python3
"""An independent PyTorch implementation of resnet-dist's training, to run side by side with it.

It asks resnet-dist for what cannot be derived independently without copying its code —
`resnet-dist export-peer` writes the first level's initial weights, each epoch's sample order,
the data as the model sees it and the level schedule — and then builds the same networks in
PyTorch (ResNet MLP or CNN with or without the input layer, pooled or flattened head, Euler or
Runge-Kutta blocks, BatchNorm, multi-level prolongation by `insert` or `double`), trains them with torch.optim.Adam (or SGD) on the same global batches in
the same order, and prints each step's loss and each epoch's test metric.

    launch/pytorch_peer.py --config launch/tests/fixtures/mlp-euler/config.yaml --steps 20
    launch/pytorch_peer.py --config my.yaml --write-fixture launch/tests/fixtures/mlp-euler
    launch/pytorch_peer.py --export /tmp/run.safetensors           # an export written before
    launch/pytorch_peer.py --config c.yaml -- --epochs 50 --subset 0   # flags after -- go to resnet-dist

With --write-fixture DIR it writes DIR/config.yaml (the resolved config) and DIR/expected.json
(the step losses, the global batches, per-epoch test metrics and the final weights), which
launch/tests/pytorch_exact.sh checks resnet-dist against. Needs torch, numpy and safetensors
(pip); float32 on one thread.
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open

TABLEAUX = {  # Butcher tableaux: a (strictly lower triangular), b
    "euler": ([[]], [1.0]),
    "midpoint": ([[], [0.5]], [0.0, 1.0]),
    "heun": ([[], [1.0]], [0.5, 0.5]),
    "rk4": ([[], [0.5], [0.0, 0.5], [0.0, 0.0, 1.0]], [1 / 6, 1 / 3, 1 / 3, 1 / 6]),
}
ACTIVATIONS = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}
BN_MOMENTUM, BN_EPS = 0.1, 1e-5


# ---------------------------------------------------------------------------------------------
# The networks, written from resnet-dist's definitions (not its code): parameters live in a
# dict name -> tensor under the names resnet-dist's checkpoints use.

def layout(spec):
    """(parameters, state): lists of (name, shape) of the model a spec describes."""
    params, state = [], []
    stages = len(TABLEAUX[spec["integrator"]][1])
    if spec["kind"] == "mlp":
        width, inputs = spec["widths"][0], spec["inputShape"][0]
        params += [("stem.weight", [width, inputs]), ("stem.bias", [width])]
        for b in range(spec["blocks"][0]):
            for fc in ("fc1", "fc2"):
                params += [(f"groups.0.blocks.{b}.{fc}.weight", [width, width]),
                           (f"groups.0.blocks.{b}.{fc}.bias", [width])]
        params += [("head.weight", [spec["outputs"], width]), ("head.bias", [spec["outputs"]])]
        return params, state

    def bn(name, c):
        params.extend([(f"{name}.weight", [c]), (f"{name}.bias", [c])])
        state.extend([(f"{name}.running_mean", [c]), (f"{name}.running_var", [c])])

    channels, height, width_px = spec["inputShape"]
    if spec.get("inputLayer", False):
        params.append(("stem.conv.weight", [spec["widths"][0], channels, 3, 3]))
        bn("stem.bn", spec["widths"][0])
        channels = spec["widths"][0]
    for g, width in enumerate(spec["widths"]):
        params.append((f"groups.{g}.projection.conv.weight", [width, channels, 3, 3]))
        if g > 0:  # stride 2, padding 1
            height, width_px = (height - 1) // 2 + 1, (width_px - 1) // 2 + 1
        bn(f"groups.{g}.projection.bn", width)
        for b in range(spec["blocks"][g]):
            name = f"groups.{g}.blocks.{b}"
            for k in (1, 2):
                bn(f"{name}.bn{k}", width)
                params += [(f"{name}.conv{k}.weight", [width, width, 3, 3]), (f"{name}.conv{k}.bias", [width])]
            for i in range(1, stages):
                for k in (1, 2):
                    state += [(f"{name}.bn{k}.stage{i}.running_mean", [width]),
                              (f"{name}.bn{k}.stage{i}.running_var", [width])]
        channels = width
    features = channels * height * width_px if spec.get("head", "pool") == "flatten" else channels
    params += [("head.weight", [spec["outputs"], features]), ("head.bias", [spec["outputs"]])]
    return params, state


def rk_step(y, h, integrator, stage):
    """One explicit Runge-Kutta step of size h: k_i = F_i(y + h sum_j a_ij k_j), y + h sum_i b_i k_i."""
    a, b = TABLEAUX[integrator]
    slopes, out = [], y
    for i in range(len(b)):
        z = y
        for j, aij in enumerate(a[i]):
            if aij != 0:
                z = z + (h * aij) * slopes[j]
        k = stage(i, z)
        if b[i] != 0:
            out = out + (h * b[i]) * k
        slopes.append(k)
    return out


class Net:
    """The model of one level: spec + parameters (leaf tensors) + BatchNorm state."""

    def __init__(self, spec, params, state):
        self.spec, self.params, self.state = spec, params, state
        self.act = ACTIVATIONS[spec["activation"]]
        self.momentum = BN_MOMENTUM  # of the running statistics (precise BatchNorm changes it)

    def batch_norm(self, x, name, training, stage=0):
        p, s = self.params, self.state
        stats = name if stage == 0 else f"{name}.stage{stage}"
        return F.batch_norm(x, s[f"{stats}.running_mean"], s[f"{stats}.running_var"], p[f"{name}.weight"],
                            p[f"{name}.bias"], training=training, momentum=self.momentum, eps=BN_EPS)

    def forward(self, x, training):
        p, spec, h = self.params, self.spec, self.spec["h"]
        if spec["kind"] == "mlp":
            x = F.linear(x, p["stem.weight"], p["stem.bias"])
            for b in range(spec["blocks"][0]):
                n = f"groups.0.blocks.{b}"
                f = lambda i, z, n=n: F.linear(self.act(F.linear(z, p[f"{n}.fc1.weight"], p[f"{n}.fc1.bias"])),
                                              p[f"{n}.fc2.weight"], p[f"{n}.fc2.bias"])
                x = rk_step(x, h, spec["integrator"], f)
            return F.linear(x, p["head.weight"], p["head.bias"])
        if spec.get("inputLayer", False):
            # The input layer: conv3x3 (no bias) -> BN -> sigma.
            x = self.act(self.batch_norm(F.conv2d(x, p["stem.conv.weight"], None, padding=1), "stem.bn", training))
        for g in range(len(spec["widths"])):
            x = F.conv2d(x, p[f"groups.{g}.projection.conv.weight"], None, stride=1 if g == 0 else 2, padding=1)
            x = self.act(self.batch_norm(x, f"groups.{g}.projection.bn", training))
            for b in range(spec["blocks"][g]):
                n = f"groups.{g}.blocks.{b}"

                def f(i, z, n=n):
                    # Pre-activation pairs BN -> sigma -> conv, twice; stage i has its own statistics.
                    for k in (1, 2):
                        z = self.act(self.batch_norm(z, f"{n}.bn{k}", training, stage=i))
                        z = F.conv2d(z, p[f"{n}.conv{k}.weight"], p[f"{n}.conv{k}.bias"], padding=1)
                    return z
                x = rk_step(x, h, spec["integrator"], f)
        x = x.flatten(1) if spec.get("head", "pool") == "flatten" else x.mean(dim=(2, 3))
        return F.linear(x, p["head.weight"], p["head.bias"])


# ---------------------------------------------------------------------------------------------
# Multi-level prolongation: every new block copies one old block; h and integrator from the spec.

def block_sources(old, new, rule):
    """Which old block each of `new` blocks copies (insert: nearest earlier old block on the grid)."""
    if new == 0:
        return []
    if rule == "double" and new == 2 * old:
        return [j // 2 for j in range(new)]
    if old == 1:
        return [0] * new
    positions = [int(math.floor(i * (new - 1) / (old - 1) + 0.5)) for i in range(old)]
    sources, current = [], 0
    for j in range(new):
        while current + 1 < old and positions[current + 1] <= j:
            current += 1
        sources.append(current)
    return sources


def source_name(name, sources):
    parts = name.split(".")
    if len(parts) > 4 and parts[0] == "groups" and parts[2] == "blocks":
        parts[3] = str(sources[int(parts[1])][int(parts[3])])
    return ".".join(parts)


def prolong_names(new_names, old_names, sources):
    """new name -> old name it copies (a stage's statistics fall back to the first stage's)."""
    mapping = {}
    for name in new_names:
        src = source_name(name, sources)
        if src not in old_names:
            src = ".".join(part for part in src.split(".") if not (part.startswith("stage") and part[5:].isdigit()))
        if src not in old_names:
            raise SystemExit(f"pytorch_peer: prolongation finds no source for {name}")
        mapping[name] = src
    return mapping


# ---------------------------------------------------------------------------------------------
# The run

class Export:
    """What `resnet-dist export-peer` wrote."""

    def __init__(self, path, dtype=torch.float32):
        with safe_open(path, "pt") as f:
            self.meta = f.metadata()
            self.tensors = {k: f.get_tensor(k) for k in f.keys()}
        self.tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in self.tensors.items()}
        if self.meta.get("format") != "resnet-dist-peer-1":
            raise SystemExit(f"pytorch_peer: {path} is not a resnet-dist peer export")
        self.config = json.loads(self.meta["config_json"])
        self.config_yaml = self.meta["config"]
        self.levels = json.loads(self.meta["levels"])
        self.steps_per_epoch = int(self.meta["steps_per_epoch"])
        self.batch_size = int(self.meta["batch_size"])
        self.classification = self.meta["task"] == "classification"
        self.permutation = self.tensors["data.permutation"].long()
        self.train = (self.tensors["data.train.x"], self.tensors["data.train.y"])
        self.test = (self.tensors["data.test.x"], self.tensors["data.test.y"])

    def batch(self, epoch, step):
        order = self.permutation[epoch]
        return order[step * self.batch_size:(step + 1) * self.batch_size]


def export_from_resnet_dist(binary, config, extra, directory):
    path = os.path.join(directory, "export.safetensors")
    cmd = [binary, "export-peer", path] + (["--config", config] if config else []) + extra
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"pytorch_peer: {' '.join(cmd)} failed:\n{run.stdout}{run.stderr}")
    return path


class Trainer:
    def __init__(self, export):
        self.x = export
        c = export.config
        self.c = c
        self.level = 0
        spec = export.levels[0]["spec"]
        params, state = layout(spec)
        names = {n for n, _ in params} | {n for n, _ in state}
        exported = {k for k in export.tensors if not k.startswith("data.")}
        if names != exported:
            raise SystemExit(f"pytorch_peer: the exported model differs from the peer's: only in the export "
                             f"{sorted(exported - names)[:5]}, only in the peer {sorted(names - exported)[:5]}")
        for n, shape in params + state:
            if list(export.tensors[n].shape) != shape:
                raise SystemExit(f"pytorch_peer: {n} has shape {list(export.tensors[n].shape)}, the peer expects {shape}")
        self.initial_sha256 = tensors_sha256({n: export.tensors[n] for n, _ in params + state})
        self.net = Net(spec, {n: export.tensors[n].clone().requires_grad_(True) for n, _ in params},
                       {n: export.tensors[n].clone() for n, _ in state})
        self.optimizer = self.make_optimizer(list(self.net.params.values()))

    def make_optimizer(self, params):
        c = self.c
        if c["optimizer"] == "sgd":
            return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], weight_decay=c["weightDecay"])
        return torch.optim.Adam(params, lr=c["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=c["weightDecay"],
                                foreach=False)

    def learning_rate(self, epoch, step):
        c = self.c
        if c["schedule"] != "cosine":
            return c["lr"]
        start = self.x.levels[self.level]["firstEpoch"]
        end = self.x.levels[self.level + 1]["firstEpoch"] if self.level + 1 < len(self.x.levels) else c["epochs"]
        t = (epoch - start) * self.x.steps_per_epoch + step
        total = max(1, (end - start) * self.x.steps_per_epoch)
        return c["lr"] * (1 + math.cos(math.pi * t / total)) / 2

    def loss(self, out, target):
        if self.x.classification:
            return F.cross_entropy(out, target.long())
        return F.mse_loss(out, target)

    def step(self, indices, lr):
        xs, ys = self.x.train
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=False)
        loss = self.loss(self.net.forward(xs[indices], training=True), ys[indices])
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def evaluate(self):
        xs, ys = self.x.test
        total = 0.0
        for start in range(0, xs.shape[0], 1000):
            out = self.net.forward(xs[start:start + 1000], training=False)
            y = ys[start:start + 1000]
            if self.x.classification:
                total += float((out.argmax(dim=1) == y.long()).sum())
            else:
                total += float(((out.double() - y.double()) ** 2).sum())
        if self.x.classification:
            return "test accuracy", total / xs.shape[0]
        return "test error norm", math.sqrt(total)

    @torch.no_grad()
    def recalibrate_batch_norm(self, epoch):
        """--precise-bn K: the running statistics become the plain average of the batch statistics
        of the epoch's first K global batches under the current weights."""
        if self.c["preciseBN"] <= 0 or not self.net.state:
            return
        xs, _ = self.x.train
        for t in self.net.state.values():
            t.zero_()
        for k in range(self.c["preciseBN"]):
            self.net.momentum = 1 / (k + 1)
            self.net.forward(xs[self.x.batch(epoch, k % self.x.steps_per_epoch)], training=True)
        self.net.momentum = BN_MOMENTUM

    def switch_level(self):
        """Prolong to the next level's spec: parameters, BatchNorm state and optimizer moments."""
        old = self.net
        self.level += 1
        spec = self.x.levels[self.level]["spec"]
        sources = [block_sources(o, n, self.c["prolongation"]) for o, n in zip(old.spec["blocks"], spec["blocks"])]
        params, state = layout(spec)
        pmap = prolong_names([n for n, _ in params], set(old.params), sources)
        smap = prolong_names([n for n, _ in state], set(old.state), sources)
        new_params = {n: old.params[pmap[n]].detach().clone().requires_grad_(True) for n, _ in params}
        new_state = {n: old.state[smap[n]].clone() for n, _ in state}
        optimizer = self.make_optimizer(list(new_params.values()))
        if self.c["optimizerStateOnSwitch"] == "prolong":
            for n, p in new_params.items():
                previous = self.optimizer.state.get(old.params[pmap[n]])
                if previous:
                    optimizer.state[p] = {k: v.clone() for k, v in previous.items()}
        self.net, self.optimizer = Net(spec, new_params, new_state), optimizer

    def run(self, steps=None, on_step=None, on_epoch=None):
        """Trains for `steps` global steps (all epochs when None); returns the step losses."""
        losses, global_step = [], 0
        for epoch in range(self.c["epochs"]):
            epoch_loss = 0.0
            for step in range(self.x.steps_per_epoch):
                if steps is not None and global_step >= steps:
                    return losses
                indices = self.x.batch(epoch, step)
                loss = self.step(indices, self.learning_rate(epoch, step))
                losses.append(loss)
                epoch_loss += loss * len(indices)
                global_step += 1
                if on_step:
                    on_step(global_step, loss, indices)
            self.recalibrate_batch_norm(epoch)
            metric = self.evaluate()
            if on_epoch:
                on_epoch(epoch + 1, self.level + 1, epoch_loss / self.x.train[0].shape[0], metric)
            nxt = self.level + 1
            if nxt < len(self.x.levels) and self.x.levels[nxt]["firstEpoch"] == epoch + 1 and epoch + 1 < self.c["epochs"]:
                self.switch_level()
        return losses

    def final_tensors(self):
        out = {n: t.detach() for n, t in self.net.params.items()}
        out.update(self.net.state)
        return out


def tensors_sha256(tensors):
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].detach().contiguous().numpy().astype("<f4").tobytes())
    return h.hexdigest()


def write_fixture(directory, export, trainer, losses, batches, metrics):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.yaml"), "w") as f:
        f.write("# Written by launch/pytorch_peer.py; the run launch/tests/pytorch_exact.sh repeats.\n")
        f.write(export.config_yaml)
    final = {}
    for name, t in sorted(trainer.final_tensors().items()):
        final[name] = {"shape": list(t.shape), "values": [float("%.9g" % v) for v in t.reshape(-1).tolist()]}
    fixture = {
        "format": "resnet-dist-pytorch-fixture-1",
        "regenerate": f"launch/pytorch_peer.py --config {directory}/config.yaml --write-fixture {directory}",
        "torch": torch.__version__,
        "steps": len(losses),
        "initial_sha256": trainer.initial_sha256,
        "batches": batches,
        "losses": [float("%.9g" % v) for v in losses],
        "epochs": metrics,
        "final": final,
    }
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")


def main(argv):
    parser = argparse.ArgumentParser(
        description="Train resnet-dist's networks in PyTorch from resnet-dist's initial weights and data order.",
        epilog="Arguments after -- are passed to `resnet-dist export-peer` (e.g. --epochs 50 --subset 0).")
    parser.add_argument("--config", help="resnet-dist YAML config (as for `resnet-dist train --config`)")
    parser.add_argument("--export", help="an existing `resnet-dist export-peer` file (instead of running resnet-dist)")
    parser.add_argument("--bin", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build",
                                                      "release", "resnet-dist"), help="the resnet-dist binary")
    parser.add_argument("--steps", type=int, help="stop after this many global steps (default: every epoch)")
    parser.add_argument("--write-fixture", metavar="DIR", help="write DIR/config.yaml and DIR/expected.json")
    parser.add_argument("--quiet", action="store_true", help="no per-step lines")
    parser.add_argument("--float64", action="store_true",
                        help="compute in double precision (a reference for how far float32 rounding carries)")
    args, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    torch.set_num_threads(1)
    torch.manual_seed(0)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.export or export_from_resnet_dist(args.bin, args.config, extra, tmp)
        export = Export(path, torch.float64 if args.float64 else torch.float32)
    trainer = Trainer(export)
    batches, metrics = [], []

    def on_step(step, loss, indices):
        batches.append(indices.tolist())
        if not args.quiet:
            print(f"step {step} loss {loss:.9e}", flush=True)

    def on_epoch(epoch, level, train_loss, metric):
        metrics.append({"epoch": epoch, "level": level, "train_loss": float("%.9g" % train_loss),
                        "metric": metric[0], "value": float("%.9g" % metric[1])})
        blocks = ",".join(map(str, trainer.net.spec["blocks"]))
        print(f"epoch {epoch} level {level} blocks {blocks} train loss {train_loss:.6g} {metric[0]} {metric[1]:.6g}",
              flush=True)

    losses = trainer.run(args.steps, on_step, on_epoch)
    if args.write_fixture:
        write_fixture(args.write_fixture.rstrip('/'), export, trainer, losses, batches, metrics)
        print(f"fixture: {args.write_fixture}")


if __name__ == "__main__":
    main(sys.argv[1:])
