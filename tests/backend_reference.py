"""Shared weights and TensorFlow reference outputs for `tests/test_backends.py`.

    KERAS_BACKEND=tensorflow python tests/backend_reference.py OUT_DIR [ROW ...]

builds every row of `ROWS` (or the rows named), gives it the weights `shared_weights` draws
from `numpy.random.RandomState` (the same numbers on every backend, unlike Keras' initializers,
whose random streams differ by backend), runs it on `batch(...)` in inference mode and writes
`OUT_DIR/<row>.npz` (one array per output). With `--weights-file ROW`, also writes that row's
weights with `model.save_weights` to `OUT_DIR/<row>.weights.h5`.

Not a test module (pytest collects `test_*.py` only); the test imports `ROWS`,
`shared_weights` and `batch` from here, so both sides use the same code.
"""

import math
import os
import sys

import numpy as np

#: (row id, registry name, builder kwargs, input size): every registered architecture at its
#: smallest input with its top on and logits out (`classifier_activation=None`), plus
#: GoogLeNet's batch-norm variant and its auxiliary classifiers.
ROWS = [
    ("vgg11", "vgg11", {}, 32),
    ("vgg13", "vgg13", {}, 32),
    ("vgg16", "vgg16", {}, 32),
    ("vgg19", "vgg19", {}, 32),
    ("resnet18", "resnet18", {}, 32),
    ("resnet34", "resnet34", {}, 32),
    ("resnet50", "resnet50", {}, 32),
    ("resnet101", "resnet101", {}, 32),
    ("resnet152", "resnet152", {}, 32),
    ("xception", "xception", {}, 71),
    ("inception_v3", "inception_v3", {}, 75),
    ("googlenet", "googlenet", {}, 32),                         # LRN (custom layer)
    ("googlenet_bn_aux", "googlenet", {"normalization": "batchnorm",
                                       "aux_classifiers": True}, 65),  # aux: >= 65
]
CLASSES = 10


def build(row):
    import cnnblocks
    _, name, kwargs, size = next(r for r in ROWS if r[0] == row)
    return cnnblocks.create_model(name, input_shape=(size, size, 3), classes=CLASSES,
                                  classifier_activation=None, **kwargs)


def batch(row, n=2, seed=1):
    size = next(r for r in ROWS if r[0] == row)[3]
    return np.random.RandomState(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def shared_weights(model, seed=0):
    """Sets every variable of `model` from `RandomState(seed)`, in `model.weights` order:
    kernels ~ N(0, 2 / fan_in) (fan_in: all dimensions but the last), biases and BN betas
    ~ N(0, 0.05), BN gammas ~ U(0.25, 0.75) (residual sums stay in range), moving means ~ N(0, 0.2), moving variances
    ~ U(0.5, 2). Returns the model."""
    rng = np.random.RandomState(seed)
    values = []
    for variable in model.weights:
        shape = tuple(variable.shape)
        name = variable.path.rsplit("/", 1)[-1]
        if name == "gamma":
            value = rng.uniform(0.25, 0.75, shape)
        elif name == "moving_variance":
            value = rng.uniform(0.5, 2.0, shape)
        elif name == "moving_mean":
            value = rng.normal(0, 0.2, shape)
        elif len(shape) >= 2:
            value = rng.normal(0, math.sqrt(2.0 / math.prod(shape[:-1])), shape)
        else:
            value = rng.normal(0, 0.05, shape)
        values.append(value.astype(variable.dtype))
    model.set_weights(values)
    return model


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
        if row == weights_file:
            model.save_weights(os.path.join(out, f"{row}.weights.h5"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
