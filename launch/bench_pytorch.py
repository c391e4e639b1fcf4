#!/usr/bin/env python3
"""PyTorch reference for `launch/bench`: training steps of the Fashion-MNIST deep model
(input layer, groups 16/32, 3 blocks per group, sigmoid, BatchNorm, flattened head, Adam,
batch 1024) on random 28x28 inputs, with a Fashion-MNIST-sized data set held in memory as
torchvision holds it (its peak memory is then the same job's as resnet-dist's rank, which holds the
images as bytes), the same architecture resnet-dist builds; with --mlp, whole
runs of the regression MLP of thesis §5.1 (deep variant, `--preset thesis`). Optional:
launch/bench calls it only when torch is importable. Prints one JSON object on stdout.

Usage: launch/bench_pytorch.py THREADS [THREADS ...] [--window SECONDS] [--isa LABEL] [--compile]
       launch/bench_pytorch.py --eval THREADS [--compile]
       launch/bench_pytorch.py --epoch THREADS [--images N] [--compile]
       launch/bench_pytorch.py --mlp [--runs N] [--epochs E]

--eval times the test pass instead, as resnet-dist's `bench evaluation` does: the same model in
inference mode (no gradients) over 10 000 images in chunks of 1000, fastest of 3 passes after a
warm-up pass; prints {"pytorchEvaluation": [...]}.

--epoch times whole training epochs as a user's loop runs them (a new random order each epoch,
batches gathered by index, 6144 images by default): one warm-up step, then the fastest of 2
epochs; prints {"pytorchEpochs": [...]}, against resnet-dist's `bench epoch`.

--compile times the model after torch.compile, as a speed-minded PyTorch user runs it; the
compilation (in the warm-up steps) is reported as compileSeconds, apart from the step rate.
Without a C++ compiler it prints {"pytorch": [], "skipped": "..."} and exits 0.

--isa labels the rows as limited to that instruction set: the limit is set from outside, before
torch loads (launch/bench sets ONEDNN_MAX_CPU_ISA and ATEN_CPU_CAPABILITY to match resnet-dist's
OpenBLAS core). Without it the rows say PyTorch ran as installed, on the capability it reports.

--mlp times the network resnet-dist's `--experiment regression --variant deep --preset thesis`
trains (see launch/pytorch_peer.py for the same network built from resnet-dist's export): x in
[0, 2pi] unscaled -> Linear(1, 32) -> 3 Euler blocks y + h*fc2(sigma(fc1(y))), h = 1 -> Linear(32, 1),
MSE, Adam lr 0.005, batch 256 (the last batch of an epoch shorter), a new order every epoch, on
2000 training and 1500 test points of cos^2(x) sin(x^2) for 50 epochs, one thread. The training
steps (batch gathering included) and the test passes are timed apart; the fastest of N runs.
"""
import json
import resource
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


def training_step(threads, compiled):
    """One training step of the model on a batch (forward, loss, backward, Adam), as every timing
    here runs it; the model seeded, on `threads` threads, compiled when `compiled`."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=0.005)
    if compiled:
        # What a speed-minded PyTorch user runs: the model compiled by TorchInductor (it writes
        # and builds C++ for the CPU, so it needs a C compiler).
        net = torch.compile(net)
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
    return step


def held_fashion_mnist():
    """Fashion-MNIST as a PyTorch job holds it in memory (torchvision's FashionMNIST: the
    60 000 training and 10 000 test images as uint8, the labels as int64), random values of that
    shape. resnet-dist's rank holds the same images as bytes, so with these the two processes'
    peaks are the same job's (without them PyTorch's peak lacked the ≈ 55 MB of images
    resnet-dist's includes)."""
    g = torch.Generator().manual_seed(3)
    return {"train": torch.randint(0, 256, (60000, 28, 28), dtype=torch.uint8, generator=g),
            "trainLabels": torch.randint(0, 10, (60000,), generator=g),
            "test": torch.randint(0, 256, (10000, 28, 28), dtype=torch.uint8, generator=g),
            "testLabels": torch.randint(0, 10, (10000,), generator=g)}


def measure(threads, data, batch=1024, window=4.0, isa=None, compiled=False):
    run = training_step(threads, compiled)
    # A batch from the held images, as a user's loop forms it (uint8 -> float in [0, 1]).
    x = data["train"][:batch].unsqueeze(1).float().div_(255)
    y = data["trainLabels"][:batch].clone()

    def step():
        run(x, y)

    # Warm-up: the first steps allocate and pick kernels (one was not enough: the rate of a
    # 1-thread run measured first came out ≈ 25 % low). Compiling happens in the first step
    # (forward) and the second (backward's graph): its time is reported apart, not in the rate.
    warm = time.perf_counter()
    for _ in range(3):
        step()
    warm = time.perf_counter() - warm
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
            "meanStepSeconds": sum(times) / len(times), "steps": len(times), "instructionSet": isa,
            "asInstalled": isa is None, "capability": capability(), "compiled": compiled,
            "compileSeconds": max(0.0, warm - 3 * seconds) if compiled else None,
            # The process's peak resident memory so far (Linux reports KiB): for the first thread
            # count measured, that model's training at this batch with the data set held, as
            # resnet-dist's np 1 row.
            "peakRSSBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "heldDataBytes": sum(t.numel() * t.element_size() for t in data.values())}


def whole_epochs(threads, images=6144, batch=1024, epochs=2, compiled=False):
    """Whole training epochs as a user's loop runs them: `images` training images (random, of
    Fashion-MNIST's shape) in a new random order each epoch, batches of `batch` gathered by
    index, forward, loss, backward and Adam. One warm-up step first (which compiles when
    `compiled`; its time beyond a step is reported apart), then the fastest of `epochs` epochs."""
    step = training_step(threads, compiled)
    x = torch.rand(images, 1, 28, 28)
    y = torch.randint(0, 10, (images,))

    warm = time.perf_counter()
    step(x[:batch], y[:batch])
    warm = time.perf_counter() - warm
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(images)
        for lower in range(0, images, batch):
            idx = order[lower:lower + batch]
            step(x[idx], y[idx])
        times.append(time.perf_counter() - t0)
    seconds = min(times)
    steps = (images + batch - 1) // batch
    return {"version": torch.__version__.split("+")[0], "threads": threads, "images": images, "batch": batch,
            "seconds": seconds, "epochs": epochs, "compiled": compiled,
            "compileSeconds": max(0.0, warm - seconds / steps) if compiled else None}


def evaluate(threads, count=10000, chunk=1000, passes=3, compiled=False):
    """The test pass as resnet-dist runs it: the Fashion-MNIST deep model in inference mode over
    `count` images in chunks of `chunk`, no gradients; the fastest of `passes` after one warm-up
    pass (which compiles when `compiled`; its extra time is reported apart)."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = model().eval()
    if compiled:
        net = torch.compile(net)
    x = torch.rand(count, 1, 28, 28)

    def one_pass():
        t0 = time.perf_counter()
        with torch.no_grad():
            for lower in range(0, count, chunk):
                net(x[lower:lower + chunk]).argmax(1)
        return time.perf_counter() - t0

    warm = one_pass()
    seconds = min(one_pass() for _ in range(passes))
    return {"version": torch.__version__.split("+")[0], "threads": threads, "testCount": count, "chunk": chunk,
            "seconds": seconds, "compiled": compiled,
            "compileSeconds": max(0.0, warm - seconds) if compiled else None}


def compiler_missing():
    """Why torch.compile cannot run here (no C/C++ compiler for TorchInductor), or None."""
    import shutil
    if not any(shutil.which(c) for c in ("g++", "c++", "clang++")):
        return "no C++ compiler on PATH (TorchInductor needs one: apt-get install g++)"
    return None


def capability():
    try:
        return torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        return None


class EulerMLP(nn.Module):
    """Linear(1, width) -> blocks of y + h*fc2(sigma(fc1(y))) -> Linear(width, 1)."""

    def __init__(self, width=32, blocks=3, h=1.0):
        super().__init__()
        self.h = h
        self.stem = nn.Linear(1, width)
        self.fc1 = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.fc2 = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.head = nn.Linear(width, 1)

    def forward(self, y):
        y = self.stem(y)
        for fc1, fc2 in zip(self.fc1, self.fc2):
            y = y + self.h * fc2(torch.sigmoid(fc1(y)))
        return self.head(y)


def mlp_runs(runs=5, epochs=50, train=2000, test=1500, batch=256, width=32, blocks=3, lr=0.005):
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(1)

    def points(n, noise):
        x = torch.rand(n, 1, generator=gen) * 2 * torch.pi
        return x, torch.cos(x) ** 2 * torch.sin(x ** 2) + noise * torch.randn(n, 1, generator=gen)
    xs, ys = points(train, 1.0 / 500)
    xt, yt = points(test, 0.0)
    best = None
    for run in range(runs + 1):   # run 0 warms up
        torch.manual_seed(run)
        net = EulerMLP(width, blocks)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        step_seconds = eval_seconds = 0.0
        for epoch in range(epochs):
            t0 = time.perf_counter()
            order = torch.randperm(train, generator=gen)
            for start in range(0, train, batch):
                idx = order[start:start + batch]
                opt.zero_grad(set_to_none=True)
                loss = nn.functional.mse_loss(net(xs[idx]), ys[idx])
                loss.backward()
                opt.step()
            t1 = time.perf_counter()
            with torch.no_grad():
                float(((net(xt) - yt) ** 2).sum().sqrt())
            step_seconds += t1 - t0
            eval_seconds += time.perf_counter() - t1
        if run > 0 and (best is None or step_seconds < best[0]):
            best = (step_seconds, eval_seconds)
    return {"version": torch.__version__.split("+")[0], "threads": 1, "epochs": epochs, "trainCount": train,
            "testCount": test, "batch": batch, "width": width, "blocks": blocks, "runs": runs,
            "stepSeconds": best[0], "evalSeconds": best[1]}


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--mlp" in args:
        runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 5
        epochs = int(args[args.index("--epochs") + 1]) if "--epochs" in args else 50
        print(json.dumps({"pytorchMLP": [mlp_runs(runs=runs, epochs=epochs)]}))
        sys.exit(0)
    window = 4.0
    if "--window" in args:
        i = args.index("--window")
        window = float(args[i + 1])
        del args[i:i + 2]
    compiled = "--compile" in args
    if compiled:
        args.remove("--compile")
        missing = compiler_missing()
        if missing:
            print(json.dumps({"pytorch": [], "skipped": "torch.compile: " + missing}))
            sys.exit(0)
    if "--epoch" in args:
        args.remove("--epoch")
        images = 6144
        if "--images" in args:
            i = args.index("--images")
            images = int(args[i + 1])
            del args[i:i + 2]
        print(json.dumps({"pytorchEpochs": [whole_epochs(int(t), images=images, compiled=compiled) for t in (args or ["1"])]}))
        sys.exit(0)
    if "--eval" in args:
        args.remove("--eval")
        print(json.dumps({"pytorchEvaluation": [evaluate(int(t), compiled=compiled) for t in (args or ["1"])]}))
        sys.exit(0)
    isa = None
    if "--isa" in args:
        i = args.index("--isa")
        isa = args[i + 1]
        del args[i:i + 2]
    data = held_fashion_mnist()
    print(json.dumps({"pytorch": [measure(int(t), data, window=window, isa=isa, compiled=compiled)
                                  for t in (args or ["1"])]}))
