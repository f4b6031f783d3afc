"""The portable rewrite `cnnblocks.deploy` applies before writing ONNX on TensorFlow: layers
whose TensorFlow graph tf2onnx cannot convert, re-expressed exactly in ops it can.

- A grouped `Conv2D` (`groups > 1`): Keras runs it on TensorFlow through an XLA-compiled
  function, which tf2onnx cannot look into. With `groups` equal to its input and output
  channels (ConvNeXt's 7x7) it is a `DepthwiseConv2D` (the kernel `(h, w, 1, c)` becomes
  `(h, w, c, 1)`); otherwise (ResNeXt, RegNet) `GroupedConv2D`: the input split into the
  groups, one convolution each with its slice of the same kernel, then concatenated.
- GELU (`Activation("gelu")`, exact): TensorFlow writes it with `erfc`, which tf2onnx lacks;
  `ErfGELU` computes the same `x / 2 * (1 + erf(x / sqrt(2)))` with `erf`.
- `Normalization` (EfficientNet's and ConvNeXt's input normalization): Keras computes with
  constant copies of its mean and variance, which tf2onnx writes as graph inputs nobody
  feeds; `ConstantNormalization` holds the same values as weights.

Each new layer keeps the old one's name; the rewritten model's outputs are checked against
the original's by `export`'s verification like any file.
"""

import math

import keras
import numpy as np
from keras import layers, ops

from cnnblocks import inference


class GroupedConv2D(layers.Layer):
    """`Conv2D(groups=g)` as `g` convolutions of the channel groups, concatenated (the same
    kernel `(h, w, c / g, f)` and bias as the `Conv2D`)."""

    def __init__(self, conv_config, **kwargs):
        super().__init__(name=conv_config["name"], dtype=conv_config.get("dtype"), **kwargs)
        self.conv_config = dict(conv_config)
        c = self.conv_config
        self.groups = int(c["groups"])
        self.filters = int(c["filters"])
        self.kernel_size = tuple(c["kernel_size"])
        self.activation = keras.activations.get(c.get("activation"))

    def build(self, input_shape):
        c = self.conv_config
        self.kernel = self.add_weight(
            name="kernel", shape=(*self.kernel_size, input_shape[-1] // self.groups,
                                  self.filters))
        self.bias = self.add_weight(name="bias", shape=(self.filters,)) if c["use_bias"] \
            else None

    def call(self, x):
        c = self.conv_config
        step = self.filters // self.groups
        pieces = ops.split(x, self.groups, axis=-1)
        outputs = [ops.conv(piece, self.kernel[..., g * step:(g + 1) * step],
                            strides=c["strides"], padding=c["padding"],
                            dilation_rate=c["dilation_rate"], data_format="channels_last")
                   for g, piece in enumerate(pieces)]
        y = ops.concatenate(outputs, axis=-1)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def get_config(self):
        return {"conv_config": self.conv_config}


class ConstantNormalization(layers.Layer):
    """`Normalization(mean=..., variance=...)` with its mean and variance as (non-trainable)
    weights: tf2onnx turns the constants Keras captures for them into unfed graph inputs."""

    def __init__(self, shape, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.shape, self.invert = tuple(shape), bool(invert)

    def build(self, input_shape):
        self.mean = self.add_weight(name="mean", shape=self.shape, trainable=False)
        self.variance = self.add_weight(name="variance", shape=self.shape, trainable=False)

    def call(self, x):
        scale = ops.maximum(ops.sqrt(self.variance), keras.config.epsilon())
        return self.mean + x * scale if self.invert else (x - self.mean) / scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "shape": self.shape, "invert": self.invert}


class ErfGELU(layers.Layer):
    """GELU, exact, as `x / 2 * (1 + erf(x / sqrt(2)))`."""

    def call(self, x):
        return 0.5 * x * (1.0 + ops.erf(x * (1.0 / math.sqrt(2.0))))


def _substitute(layer):
    if not _substitute_kind(layer):
        return None
    if isinstance(layer, layers.Normalization):
        mean, variance = (keras.ops.convert_to_numpy(v) for v in (layer.mean, layer.variance))
        return ConstantNormalization(mean.shape, layer.invert, name=layer.name,
                                     dtype=layer.dtype_policy), [mean, variance]
    if isinstance(layer, layers.Conv2D):
        config = layer.get_config()
        if config.get("data_format") not in (None, "channels_last"):
            return None
        weights = layer.get_weights()
        channels = layer.kernel.shape[-2] * layer.groups
        if layer.groups == channels == layer.filters:
            depthwise = layers.DepthwiseConv2D(
                config["kernel_size"], strides=config["strides"], padding=config["padding"],
                dilation_rate=config["dilation_rate"], use_bias=config["use_bias"],
                activation=config["activation"], name=layer.name, dtype=config.get("dtype"))
            weights[0] = np.transpose(weights[0], (0, 1, 3, 2))
            return depthwise, weights
        return GroupedConv2D(config), weights
    return ErfGELU(name=layer.name, dtype=layer.dtype_policy), []


def needs_rewrite(model):
    """Whether `model` (or a model nested in it) has a layer `portable` replaces."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            if needs_rewrite(layer):
                return True
        elif _substitute_kind(layer):
            return True
    return False


def _substitute_kind(layer):
    if isinstance(layer, layers.Normalization):
        return getattr(layer, "mean", None) is not None
    if isinstance(layer, layers.Conv2D) and not isinstance(
            layer, (layers.DepthwiseConv2D, layers.SeparableConv2D)) and layer.groups > 1:
        return True
    return isinstance(layer, layers.Activation) and (
        keras.activations.serialize(layer.activation) == "gelu")


def portable(model):
    """`model` with its grouped convolutions, GELUs and normalizations re-expressed (a new
    model with the same name, inputs and outputs), or `model` itself when it has none."""
    if not needs_rewrite(model):
        return model
    return inference._rebuild(model, fold=False, compute_dtype=None, substitute=_substitute)
