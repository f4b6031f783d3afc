"""Helpers of the MobileNet and EfficientNet tests: parameter arithmetic, and the comparisons
with keras.applications (names, weights, outputs, legacy weight files).

Counting conventions (Keras `count_params()`): a k x k convolution has `k*k*c_in*c_out` weights
plus `c_out` biases; a depthwise one `k*k*c*m` (+ `c*m`); BatchNormalization 4 numbers per
channel (gamma, beta, moving mean and variance), 2 of them trainable.
"""

import re

import h5py
import numpy as np

import keras


def conv(k, c_in, c_out, bias=False):
    """A k x k convolution (no bias unless `bias`)."""
    return k * k * c_in * c_out + (c_out if bias else 0)


def dw(k, c, multiplier=1):
    """A k x k depthwise convolution without bias."""
    return k * k * c * multiplier


def bn(c):
    return 4 * c


def se(c, s):
    """Squeeze-and-excite: 1x1 c -> s and s -> c, both with bias."""
    return conv(1, c, s, bias=True) + conv(1, s, c, bias=True)


def predict(model, x):
    """Runs `model` eagerly in inference mode (no `predict()` tracing)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def images(shape, n=2, low=0.0, high=255.0, seed=0):
    return np.random.RandomState(seed).uniform(low, high, (n, *shape)).astype("float32")


def write_legacy_h5(model, path):
    """Writes `model`'s weights in the legacy HDF5 layout of keras.applications' ImageNet files
    (`layer_names` attribute, one group per layer), with Keras' legacy writer (test-only
    import: Keras 3's `save_weights` writes only its own `.weights.h5` format)."""
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def auto_named(layer):
    """Whether `layer` has the name Keras gives an unnamed layer (`conv2d_12`, `re_lu`)."""
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2",
                   re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__)).lower()
    return re.fullmatch(re.escape(snake) + r"(_\d+)?", layer.name) is not None


def assert_keras_names(model, ref, *, type_exceptions=()):
    """Layer for layer (same order), the same types, and every layer keras.applications names
    explicitly has that name; `type_exceptions` lists `(our type, keras type)` pairs allowed to
    differ (MobileNetV3's hard-sigmoid gate). Also the model names."""
    ours = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    theirs = [layer for layer in ref.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        types = (type(a).__name__, type(b).__name__)
        assert types[0] == types[1] or types in type_exceptions, (a.name, b.name, types)
        if not auto_named(b):
            assert a.name == b.name
    assert model.name == ref.name


def max_abs_diff_after_transfer(model, ref, x):
    """Copies `ref`'s weights into `model`; returns max |model(x) - ref(x)|."""
    model.set_weights(ref.get_weights())
    return float(np.abs(predict(model, x) - predict(ref, x)).max())


def relative_error(reference, candidate):
    reference, candidate = np.asarray(reference, "float64"), np.asarray(candidate, "float64")
    return float(np.abs(candidate - reference).max() / np.abs(reference).max())
