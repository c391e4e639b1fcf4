#!/usr/bin/env python3
"""PyTorch reference for `launch/bench`: training steps of the Fashion-MNIST deep model
(input layer, groups 16/32, 3 blocks per group, sigmoid, BatchNorm, flattened head, Adam,
batch 1024) on random 28x28 inputs, the same architecture resnet-dist builds. Optional: launch/bench calls it only when
torch is importable. Prints one JSON object per thread count on stdout.

Usage: launch/bench_pytorch.py THREADS [THREADS ...] [--window SECONDS] [--isa LABEL]

--isa only labels the rows: the instruction set is limited from outside, before torch loads
(launch/bench sets ONEDNN_MAX_CPU_ISA and ATEN_CPU_CAPABILITY to match resnet-dist's OpenBLAS core).
"""
import json
import sys
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    """Y <- Y + h * F(Y), F = conv(sigma(BN(conv(sigma(BN(y))))))."""

    def __init__(self, channels, h):
        super().__init__()
        self.h = h
        self.f = nn.Sequential(
            nn.BatchNorm2d(channels), nn.Sigmoid(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels), nn.Sigmoid(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, y):
        return y + self.h * self.f(y)


def model(widths=(16, 32), blocks=3, h=1.0, image=28, classes=10):
    """The network resnet-dist's fashion experiment builds: an input layer (conv3x3 -> BN -> sigma),
    per group a projection (conv3x3, stride 2 after the first group, -> BN -> sigma) and residual
    blocks, then the flattened features into one Linear layer."""
    layers = [nn.Conv2d(1, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.Sigmoid()]
    channels = widths[0]
    for g, width in enumerate(widths):
        layers += [nn.Conv2d(channels, width, 3, stride=1 if g == 0 else 2, padding=1, bias=False),
                   nn.BatchNorm2d(width), nn.Sigmoid()]
        layers += [Block(width, h) for _ in range(blocks)]
        channels = width
        if g > 0:
            image = (image - 1) // 2 + 1
    layers += [nn.Flatten(), nn.Linear(channels * image * image, classes)]
    return nn.Sequential(*layers)


def measure(threads, batch=1024, window=4.0, isa=None):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=0.005)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    # Warm-up: the first steps allocate and pick kernels (one was not enough: the rate of a
    # 1-thread run measured first came out ≈ 25 % low).
    for _ in range(3):
        step()
    # As resnet-dist's benchmark: the fastest step (least disturbed by other jobs on shared
    # cores) gives the rate; the mean is kept beside it.
    times, start = [], time.perf_counter()
    while len(times) < 2 or time.perf_counter() - start < window:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    seconds = min(times)
    return {"version": torch.__version__.split("+")[0], "threads": threads, "batch": batch,
            "samplesPerSecond": batch / seconds, "stepSeconds": seconds,
            "meanStepSeconds": sum(times) / len(times), "steps": len(times), "instructionSet": isa}


if __name__ == "__main__":
    args = sys.argv[1:]
    window = 4.0
    if "--window" in args:
        i = args.index("--window")
        window = float(args[i + 1])
        del args[i:i + 2]
    isa = None
    if "--isa" in args:
        i = args.index("--isa")
        isa = args[i + 1]
        del args[i:i + 2]
    print(json.dumps({"pytorch": [measure(int(t), window=window, isa=isa) for t in (args or ["1"])]}))
