#!/usr/bin/env python
"""`cnnblocks.design.estimate` against building the model: how much faster a design's costs
come without building it.

    python benchmarks/estimate_vs_build.py                       # the default RegNets
    python benchmarks/estimate_vs_build.py --models regnet_y_400mf --repeats 9

For each model, in alternating turns (build, estimate, estimate, build, ...: slow drifts of the
machine hit both), one sample of each:

- build: seconds of `cnnblocks.create_model(name)` (random weights, the classifier on, the
  model's ImageNet size), `keras.backend.clear_session()` before it, plus `count_params()` and
  `cnnblocks.count_macs` of the result (what the estimate replaces);
- estimate: seconds of `cnnblocks.design.estimate(name)` at the same size, averaged over enough
  calls to last about 0.2 s (one call is far below the clock's resolution of interest).

The figures are medians over `--repeats` samples, and the speed-up is build / estimate of the
medians, with a 95% bootstrap interval (the sample pairs resampled 2000 times). The goal of the
project is a speed-up of at least 100. Every estimate is also checked against the built
model's counts (an estimate that differs stops the run). Run it on a quiet machine.
"""

import argparse
import os
import platform
import random
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import cnnblocks  # noqa: E402
from cnnblocks import design  # noqa: E402

DEFAULT_MODELS = ("regnet_x_400mf", "regnet_y_400mf", "regnet_y_1_6gf", "regnet_y_8gf",
                  "resnet50", "efficientnet_b0", "efficientnet_b4")
GOAL = 100.0


def time_build(name):
    keras.backend.clear_session()
    start = time.perf_counter()
    model = cnnblocks.create_model(name)
    counts = (model.count_params(), cnnblocks.count_macs(model))
    return time.perf_counter() - start, counts


def time_estimate(name, budget=0.2):
    calls, start = 0, time.perf_counter()
    while True:
        costs = design.estimate(name)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / calls, (costs.params, costs.macs)


def bootstrap(pairs, rounds=2000, seed=0):
    rng = random.Random(seed)
    ratios = []
    for _ in range(rounds):
        draw = [rng.choice(pairs) for _ in pairs]
        ratios.append(statistics.median(b for b, _ in draw) / statistics.median(e for _, e in draw))
    ratios.sort()
    return ratios[int(0.025 * rounds)], ratios[int(0.975 * rounds) - 1]


def measure(name, repeats):
    design.estimate(name)                       # imports and caches outside the timings
    pairs = []
    for i in range(repeats):
        turns = ("build", "estimate") if i % 2 == 0 else ("estimate", "build")
        seconds = {}
        for turn in turns:
            seconds[turn], counts = (time_build if turn == "build" else time_estimate)(name)
            seconds[turn + "_counts"] = counts
        if seconds["build_counts"] != seconds["estimate_counts"]:
            raise SystemExit(f"{name}: the estimate {seconds['estimate_counts']} differs from "
                             f"the built model's {seconds['build_counts']}")
        pairs.append((seconds["build"], seconds["estimate"]))
    build = statistics.median(b for b, _ in pairs)
    est = statistics.median(e for _, e in pairs)
    low, high = bootstrap(pairs)
    return build, est, build / est, low, high


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma-separated registered names (`design.estimable_models()`)")
    parser.add_argument("--repeats", type=int, default=5, help="samples per model (default 5)")
    args = parser.parse_args(argv)
    names = [n for n in args.models.split(",") if n]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"Keras {keras.__version__} ({keras.backend.backend()})\n")
    print("| model | build + count (s) | estimate (ms) | speed-up (95% interval) | goal |")
    print("|---|---|---|---|---|")
    for name in names:
        build, est, ratio, low, high = measure(name, args.repeats)
        print(f"| {name} | {build:.2f} | {est * 1e3:.2f} | {ratio:,.0f}x ({low:,.0f}-{high:,.0f}) "
              f"| {'met' if low >= GOAL else 'not met'} (>= {GOAL:.0f}x) |", flush=True)


if __name__ == "__main__":
    main()
