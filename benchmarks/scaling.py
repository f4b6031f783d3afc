#!/usr/bin/env python
"""How ResNet's cost grows with depth: build time, parameters and multiply-adds of ResNet-18,
34, 50, 101, 152 (`cnnblocks.ResNet*`) and of deeper bottleneck ResNets built here from a stage
spec with `cnnblocks.blocks.bottleneck_module` (ResNet-200 by default).

    python benchmarks/scaling.py                 # also part of benchmarks/bench_vs_keras.py
    python benchmarks/scaling.py --repeats 3 --quick

Columns: weight depth (`cnnblocks.weight_depth`: conv and dense layers on the longest path),
parameters (`count_params`), multiply-adds at 224x224 and batch 1 (`cnnblocks.count_macs`),
Keras layers, and the median build time (`keras.backend.clear_session()` before each build);
the last three columns divide by ResNet-50's figures.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402

import cnnblocks  # noqa: E402
from cnnblocks.blocks import bottleneck_module, conv_bn_act  # noqa: E402

#: Bottleneck modules per stage (conv2_x ... conv5_x) of ResNets deeper than the package's.
#: ResNet-200: He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016, sec. 4.3
#: (there in the pre-activation form; here as v1 modules, the same layers and parameters).
CUSTOM_SPECS = {
    200: (3, 24, 36, 3),
}
WIDTHS = (64, 128, 256, 512)
BN_EPSILON = 1.001e-5


def custom_resnet(stages, *, size=224, classes=1000, name=None):
    """A v1 bottleneck ResNet with `stages` modules per stage, keras.applications' names."""
    depth = 3 * sum(stages) + 2
    inputs = keras.Input((size, size, 3), name="input_layer")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = conv_bn_act(x, 64, 7, strides=2, padding="valid", bn_epsilon=BN_EPSILON, name="conv1")
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (blocks, width) in enumerate(zip(stages, WIDTHS), start=2):
        for block in range(1, blocks + 1):
            x = bottleneck_module(x, width, strides=2 if block == 1 and stage > 2 else 1,
                                  name=f"conv{stage}_block{block}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name=name or f"resnet{depth}")


def builders():
    """`(label, stages, build function)` for each depth, shallowest first."""
    from cnnblocks.architectures.resnet import RESNET_SPECS
    rows = []
    for depth, (kind, stages) in sorted(RESNET_SPECS.items()):
        fn = getattr(cnnblocks, f"ResNet{depth}")
        rows.append((f"ResNet-{depth} ({kind})", stages, lambda fn=fn: fn(weights=None)))
    for depth, stages in sorted(CUSTOM_SPECS.items()):
        rows.append((f"ResNet-{depth} (bottleneck, custom spec)", stages,
                     lambda stages=stages: custom_resnet(stages)))
    return rows


def measure(build, repeats):
    seconds = []
    for _ in range(repeats):
        keras.backend.clear_session()
        start = time.perf_counter()
        model = build()
        seconds.append(time.perf_counter() - start)
    figures = {"build": statistics.median(seconds), "params": model.count_params(),
               "macs": cnnblocks.count_macs(model), "depth": cnnblocks.weight_depth(model),
               "layers": len(model.layers)}
    keras.backend.clear_session()
    return figures


def report(*, repeats=3, quick=False, depths=None):
    """The scaling section as markdown (also printed row by row to stderr)."""
    repeats = 1 if quick else repeats
    rows = []
    for label, stages, build in builders():
        if depths and int(label.split("-")[1].split()[0]) not in depths:
            continue
        print(f"  {label} ...", file=sys.stderr, flush=True)
        rows.append((label, stages, measure(build, repeats)))
    ref_label, _, ref = next((row for row in rows if row[0].startswith("ResNet-50 ")), rows[0])
    short = ref_label.split()[0]
    lines = [
        f"## ResNet depth scaling (224x224, batch 1; build: median of {repeats})",
        "",
        "| model | modules per stage | weight depth | layers | params | GMACs | build s | "
        f"params / {short} | GMACs / {short} | build / {short} |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, stages, f in rows:
        lines.append(
            f"| {label} | {' + '.join(map(str, stages))} | {f['depth']} | {f['layers']} | "
            f"{f['params']:,} | {f['macs'] / 1e9:.2f} | {f['build']:.2f} | "
            f"{f['params'] / ref['params']:.2f} | {f['macs'] / ref['macs']:.2f} | "
            f"{f['build'] / ref['build']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="builds per model (default 3)")
    p.add_argument("--depths", default=None,
                   help="comma-separated depths to keep, e.g. 18,50,200 (default: all)")
    p.add_argument("--quick", action="store_true", help="one build per model")
    args = p.parse_args(argv)
    depths = {int(d) for d in args.depths.split(",")} if args.depths else None
    print(report(repeats=args.repeats, quick=args.quick, depths=depths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
