"""Shared weights and TensorFlow reference outputs for `tests/test_backends.py`.

    KERAS_BACKEND=tensorflow python tests/backend_reference.py OUT_DIR [ROW ...]

builds every row of `ROWS` (or the rows named), gives it the weights `shared_weights` draws
from `numpy.random.RandomState` (the same numbers on every backend, unlike Keras' initializers,
whose random streams differ by backend), runs it on `batch(...)` in inference mode and writes
`OUT_DIR/<row>.npz` (one array per output) and its calibrated BN statistics to
`OUT_DIR/<row>.bn.npz`. With `--weights-file ROW`, also writes that row's
weights with `model.save_weights` to `OUT_DIR/<row>.weights.h5`.

Not a test module (pytest collects `test_*.py` only); the test imports `ROWS`,
`shared_weights` and `batch` from here, so both sides use the same code.
"""

import math
import os
import sys

import numpy as np

#: (row id, registry name, builder kwargs, input size): every registered architecture (but
#: those in `COVERED_BY_FAMILY_ROW`, below) at its smallest input with its top on and logits out (`classifier_activation=None`), plus the
#: structures a registered name builds on request: GoogLeNet's batch-norm variant with its
#: auxiliary classifiers, and the torchvision variants whose layers differ from the default
#: (explicit symmetric padding, padding-counting average pools).
ROWS = [
    ("alexnet", "alexnet", {}, 63),
    ("vgg11", "vgg11", {}, 32),
    ("vgg13", "vgg13", {}, 32),
    ("vgg16", "vgg16", {}, 32),
    ("vgg19", "vgg19", {}, 32),
    ("vgg11_bn", "vgg11_bn", {}, 32),
    ("vgg13_bn", "vgg13_bn", {}, 32),
    ("vgg16_bn", "vgg16_bn", {}, 32),
    ("vgg19_bn", "vgg19_bn", {}, 32),
    ("googlenet", "googlenet", {}, 32),                         # LRN (custom layer)
    ("googlenet_bn_aux", "googlenet", {"normalization": "batchnorm",
                                       "aux_classifiers": True}, 65),  # aux: >= 65
    ("inception_v3", "inception_v3", {}, 75),
    ("inception_v3_torchvision", "inception_v3", {"variant": "torchvision"}, 75),
    ("inception_resnet_v2", "inception_resnet_v2", {}, 75),     # ScaledAdd (custom layer)
    ("resnet18", "resnet18", {}, 32),
    ("resnet34", "resnet34", {}, 32),
    ("resnet50", "resnet50", {}, 32),
    ("resnet50_torchvision", "resnet50", {"variant": "torchvision"}, 32),
    ("resnet101", "resnet101", {}, 32),
    ("resnet152", "resnet152", {}, 32),
    ("resnet50v2", "resnet50v2", {}, 32),
    ("resnet101v2", "resnet101v2", {}, 32),
    ("resnet152v2", "resnet152v2", {}, 32),
    ("resnext50_32x4d", "resnext50_32x4d", {}, 32),             # grouped convolutions
    ("resnext101_32x8d", "resnext101_32x8d", {}, 32),
    ("wide_resnet50_2", "wide_resnet50_2", {}, 32),
    ("xception", "xception", {}, 71),
    ("squeezenet1_0", "squeezenet1_0", {}, 32),
    ("squeezenet1_1", "squeezenet1_1", {}, 32),
    ("densenet121", "densenet121", {}, 32),
    ("densenet169", "densenet169", {}, 32),
    ("densenet201", "densenet201", {}, 32),
    ("mobilenet", "mobilenet", {}, 32),
    ("mobilenet_v2", "mobilenet_v2", {}, 32),
    ("mobilenet_v2_torchvision", "mobilenet_v2", {"variant": "torchvision"}, 32),
    ("mobilenet_v3_small", "mobilenet_v3_small", {}, 32),       # hard-swish, SE
    ("mobilenet_v3_large", "mobilenet_v3_large", {}, 32),
    ("efficientnet_b0", "efficientnet_b0", {}, 32),             # MBConv, swish, rescaling
    ("efficientnet_b1", "efficientnet_b1", {}, 32),
    ("efficientnet_b2", "efficientnet_b2", {}, 32),
    ("efficientnet_b3", "efficientnet_b3", {}, 32),
    ("efficientnet_b4", "efficientnet_b4", {}, 32),
    ("efficientnet_b5", "efficientnet_b5", {}, 32),
    ("efficientnet_b6", "efficientnet_b6", {}, 32),
    ("efficientnet_b7", "efficientnet_b7", {}, 32),
    # LayerNorm, GELU, Dense on a feature map, grouped 7x7 depthwise, LayerScale (custom
    # layer); without the input Normalization (by 255 * ImageNet's std, it would make the
    # images in [-1, 1] nearly constant)
    ("convnext_tiny", "convnext_tiny", {"include_preprocessing": False}, 32),
    ("efficientnet_v2_b0", "efficientnet_v2_b0", {}, 32),       # Fused-MBConv, normalization
    ("efficientnet_v2_s", "efficientnet_v2_s", {}, 32),         # rescaling with an offset
    ("efficientnet_v2_s_torchvision", "efficientnet_v2_s", {"variant": "torchvision"}, 32),
    ("nasnet_mobile", "nasnet_mobile", {}, 32),                 # two-input cells, Cropping2D
    ("regnet_y_400mf", "regnet_y_400mf", {}, 32),               # grouped 3x3, SE in a block
    ("mnasnet0_5", "mnasnet0_5", {}, 32),                       # 5x5 depthwise, symmetric pad
    ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0", {}, 32),       # channel split and shuffle
]

#: Registered models without a row of their own, each -> the row of its family that runs its
#: structure: ConvNeXt-S/B/L/XL, EfficientNetV2-B1/B2/B3 and M/L, NASNet-Large, ResNeXt-101
#: 64x4d (ResNeXt-101 32x8d's trunk with 64 groups of 4), Wide ResNet-101-2 (WRN-50-2's modules
#: in ResNet-101's layout) repeat the
#: blocks, cells and preprocessing of the row named (other widths, depths and input sizes; each
#: is compared with keras.applications on TensorFlow, tests/test_convnext.py, ...), and each
#: would cost one to three minutes in every backend pass (ConvNeXt-XL alone draws 350 million
#: weights), which the CI's time budget leaves to one row per structure ("heavy cases per
#: family, not per model").
COVERED_BY_FAMILY_ROW = {
    "convnext_small": "convnext_tiny", "convnext_base": "convnext_tiny",
    "convnext_large": "convnext_tiny", "convnext_xlarge": "convnext_tiny",
    "efficientnet_v2_b1": "efficientnet_v2_b0", "efficientnet_v2_b2": "efficientnet_v2_b0",
    "efficientnet_v2_b3": "efficientnet_v2_b0",
    "efficientnet_v2_m": "efficientnet_v2_s", "efficientnet_v2_l": "efficientnet_v2_s",
    "nasnet_large": "nasnet_mobile",
    "densenet161": "densenet121", "resnext101_64x4d": "resnext101_32x8d", "wide_resnet101_2": "wide_resnet50_2",
    # RegNetX is RegNetY's block without SE, at other widths and depths
    **{f"regnet_{kind}_{size}": "regnet_y_400mf" for kind, sizes in (
        ("y", ("800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf", "128gf")),
        ("x", ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")))
       for size in sizes},
    # the other depth multipliers of MNASNet: the same layers at other widths
    "mnasnet0_75": "mnasnet0_5", "mnasnet1_0": "mnasnet0_5", "mnasnet1_3": "mnasnet0_5",
    # ShuffleNet V2's widths: the same units and layers, other channel counts
    **{f"shufflenet_v2_{width}": "shufflenet_v2_x1_0" for width in ("x0_5", "x1_5", "x2_0")},
}
CLASSES = 10


def build(row):
    import cnnblocks
    _, name, kwargs, size = next(r for r in ROWS if r[0] == row)
    return cnnblocks.create_model(name, input_shape=(size, size, 3), classes=CLASSES,
                                  classifier_activation=None, **kwargs)


def images(n, size, seed):
    """`n` images `size` x `size` x 3 in [-1, 1], each different at every scale: a random 4x4
    pattern blown up to the full size, plus pixel noise, with its own brightness and
    contrast. (Images of plain noise all look alike to a deep layer, which averages a large
    receptive field: calibrated on them, batch normalisation would magnify the small
    differences between images, and float rounding with them, a million-fold.)"""
    rng = np.random.RandomState(seed)
    coarse = rng.uniform(-1, 1, (n, 4, 4, 3))
    step = -(-size // 4)
    blown = np.repeat(np.repeat(coarse, step, axis=1), step, axis=2)[:, :size, :size]
    fine = rng.uniform(-1, 1, (n, size, size, 3))
    contrast = rng.uniform(0.3, 1.0, (n, 1, 1, 1))
    brightness = rng.uniform(-0.3, 0.3, (n, 1, 1, 1))
    x = contrast * (0.7 * blown + 0.3 * fine) + brightness
    return np.clip(x, -1, 1).astype("float32")


def batch(row, n=2, seed=1):
    return images(n, next(r for r in ROWS if r[0] == row)[3], seed)


def shared_weights(model, seed=0, statistics=None):
    """Sets every variable of `model` from `RandomState(seed)`, in `model.weights` order, then
    its batch normalisation statistics. Returns the model.

    Drawn: kernels ~ N(0, 2 / fan_in) (fan_in: all dimensions but the last; a depthwise
    kernel's kh * kw), biases and BN betas ~ N(0, 0.05), BN gammas ~ U(0.25, 0.75), input
    normalisation means ~ N(0, 1e-3) and variances ~ U(0.5, 2) * 1e-5 (EfficientNet divides
    the images by 255 first).

    BN statistics: from `statistics` (a file `save_statistics` wrote) when given, else
    calibrated: every BN's moving mean and variance are set to the statistics of its input
    on 64 `images` (one training-mode pass with momentum 0 and dropout off), as training
    leaves them, each variance plus a fifth of the layer's median; the gammas of the BNs
    that end a residual branch (feed an Add) are ~ U(0.05, 0.15) instead. With random
    statistics, a network without shortcuts (MobileNet, Inception-V3 with BN scales) shrinks
    its signal at every BN until its logits are its last biases, the same for any image, and
    the comparison would check nothing; with exact ones, deep networks turn chaotic and
    magnify float rounding past 1e-4. The TensorFlow reference calibrates and the backend
    under test loads its statistics: a training-mode pass is not reproducible across
    backends to better than ~4e-3 in deep networks, while inference is.
    """
    import keras
    from cnnblocks import _graph
    rng = np.random.RandomState(seed)
    depthwise = {id(layer.weights[0]) for layer in model.layers
                 if type(layer).__name__ in ("DepthwiseConv2D", "SeparableConv2D")}
    merging = set()  # gammas of the BNs that end a residual branch (feed an Add directly)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Add):
            for tensor in _graph.layer_inputs(layer):
                op, _ = _graph.history(tensor)
                if isinstance(op, keras.layers.Dropout):  # stochastic depth
                    op, _ = _graph.history(_graph.layer_inputs(op)[0])
                if isinstance(op, keras.layers.BatchNormalization) and op.scale:
                    merging.add(id(op.gamma))
    values = []
    for variable in model.weights:
        shape = tuple(variable.shape)
        name = variable.path.rsplit("/", 1)[-1]
        if id(variable) in depthwise:  # one filter per input channel: fan_in = kh * kw
            value = rng.normal(0, math.sqrt(2.0 / math.prod(shape[:-2])), shape)
        elif id(variable) in merging:
            value = rng.uniform(0.05, 0.15, shape)
        elif name == "gamma":
            value = rng.uniform(0.25, 0.75, shape)
        elif name == "moving_variance":
            value = rng.uniform(0.5, 2.0, shape)
        elif name == "moving_mean":
            value = rng.normal(0, 0.2, shape)
        elif name == "variance":  # EfficientNet's input Normalization, after x / 255: the
            value = rng.uniform(0.5, 2.0, shape) * 1e-5  # images' spread, ~0.003
        elif name == "mean":
            value = rng.normal(0, 1e-3, shape)
        elif len(shape) >= 2:
            value = rng.normal(0, math.sqrt(2.0 / math.prod(shape[:-1])), shape)
        else:
            value = rng.normal(0, 0.05, shape)
        values.append(value.astype(variable.dtype))
    model.set_weights(values)
    for layer in model.layers:  # Normalization caches its mean and variance (Keras)
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
    norms = [layer for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    if statistics is not None:
        saved = np.load(statistics)
        for layer in norms:
            layer.moving_mean.assign(saved[f"{layer.name}.mean"])
            layer.moving_variance.assign(saved[f"{layer.name}.variance"])
        return model
    drops = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    if norms:
        saved = [(layer, layer.momentum) for layer in norms]
        rates = [(layer, layer.rate) for layer in drops]
        for layer in norms:
            layer.momentum = 0.0
        for layer in drops:
            layer.rate = 0.0
        calibration = images(64, model.inputs[0].shape[1], seed=2)
        model(calibration, training=True)
        for layer, momentum in saved:
            layer.momentum = momentum
            # Plus a fifth of the layer's median: a channel nearly constant on the
            # calibration batch would otherwise divide by sqrt(epsilon) and magnify float
            # rounding (XLA's rsqrt alone is off by ~1e-7) until deep networks are chaotic.
            # Measured on TensorFlow: a 1e-7 relative change of the input changes the logits
            # by at most 1.4e-5 (ResNet-152), and the two images' logits differ by >= 2%.
            variance = keras.ops.convert_to_numpy(layer.moving_variance)
            layer.moving_variance.assign(variance + 0.2 * np.median(variance))
        for layer, rate in rates:
            layer.rate = rate
    return model


def save_statistics(model, path):
    """Writes every BN layer's moving mean and variance to `path` (`.npz`)."""
    import keras
    arrays = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            arrays[f"{layer.name}.mean"] = keras.ops.convert_to_numpy(layer.moving_mean)
            arrays[f"{layer.name}.variance"] = keras.ops.convert_to_numpy(layer.moving_variance)
    np.savez(path, **arrays)


def outputs(model, x):
    import keras
    return [keras.ops.convert_to_numpy(y)
            for y in keras.tree.flatten(model(x, training=False))]


def main(argv):
    import keras
    out = argv[0]
    weights_file = None
    if "--weights-file" in argv:
        i = argv.index("--weights-file")
        weights_file = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    rows = argv[1:] or [r[0] for r in ROWS]
    print(f"backend {keras.backend.backend()}", flush=True)
    for row in rows:
        keras.backend.clear_session()
        model = shared_weights(build(row))
        np.savez(os.path.join(out, f"{row}.npz"), *outputs(model, batch(row)))
        save_statistics(model, os.path.join(out, f"{row}.bn.npz"))
        if row == weights_file:
            model.save_weights(os.path.join(out, f"{row}.weights.h5"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
