"""Costs of a network from its design, without building it: parameters, multiply-adds,
activations, and the output shape of each stage.

A family that can estimate its designs (`cnnblocks.family.Family.estimate`) walks its layers
on a `Tally`, in the order its builder creates them, with the formulas below; the result
equals the built model's `count_params()`, trainable weights and `cnnblocks.count_macs`
exactly (tests compare the two for every registered model of the family and for random
designs). No Keras layer or tensor is made: a RegNet-Y-400MF is estimated in well under a
millisecond per layer, against about a second to build it.

Conventions (those of `cnnblocks.analysis`): multiply-adds count convolutions and dense layers
only (output elements x kernel volume x input channels per group); parameters count 4 numbers
per BatchNormalization channel (2 trainable); activations are the elements of every layer's
output for one image (the input excluded), what a forward pass writes; `activation_bytes`
is that at 4 bytes (float32). Shapes are `(height, width, channels)`.
"""

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The costs of one design at one input size, batch 1.

    Attributes:
        params: int, every parameter (`count_params()`: BN's moving statistics included).
        trainable: int, the trainable parameters.
        macs: int, multiply-adds (`cnnblocks.count_macs`).
        activations: int, elements of every layer output of one forward pass (one image).
        output_shape: tuple, the model's output shape without the batch dimension.
        stages: tuple of `(name, shape)`, the output shape of each stage (the stem first).
    """

    params: int
    trainable: int
    macs: int
    activations: int
    output_shape: tuple
    stages: tuple

    @property
    def activation_bytes(self):
        """`activations` at 4 bytes each (float32)."""
        return 4 * self.activations


def _out(n, kernel, stride, before, after):
    return (n + before + after - kernel) // stride + 1


class Tally:
    """Running totals of a design walked layer by layer (see the module docstring)."""

    def __init__(self, input_shape):
        self.shape = tuple(int(d) for d in input_shape)
        self.params = self.trainable = self.macs = self.activations = 0
        self.stages = []

    def _emit(self, shape):
        self.shape = tuple(shape)
        self.activations += math.prod(self.shape)
        return self.shape

    def pad(self, amount):
        """ZeroPadding2D of `amount` on every side, or of `((top, bottom), (left, right))`."""
        h, w, c = self.shape
        if isinstance(amount, int):
            amount = ((amount, amount), (amount, amount))
        (top, bottom), (left, right) = amount
        return self._emit((h + top + bottom, w + left + right, c))

    def downsample_pad(self, kernel):
        """keras.applications' padding before a stride-2 "valid" convolution of a square
        `kernel` (`cnnblocks.blocks.common.downsample_padding`: "same"'s, on a known size)."""
        h, w, _ = self.shape
        return self.pad(tuple((kernel // 2 - (1 - n % 2), kernel // 2) for n in (h, w)))

    def _spatial(self, kernel, strides, padding):
        h, w, _ = self.shape
        if padding == "same":                                   # Keras "same": ceil(n / s)
            return -(-h // strides), -(-w // strides)
        return (_out(h, kernel, strides, padding, padding),
                _out(w, kernel, strides, padding, padding))

    def conv(self, filters, kernel=1, strides=1, *, groups=1, bias=False, padding=0):
        """Conv2D with a square kernel: zero `padding` on every side before it ("valid"), or
        `padding="same"` (Keras')."""
        c = self.shape[-1]
        out = (*self._spatial(kernel, strides, padding), filters)
        weights = kernel * kernel * (c // groups) * filters + (filters if bias else 0)
        self.params += weights
        self.trainable += weights
        self.macs += math.prod(out) * kernel * kernel * (c // groups)
        return self._emit(out)

    def depthwise(self, kernel=3, strides=1, *, bias=False, padding=0):
        """DepthwiseConv2D (multiplier 1) with a square kernel, padded as `conv`."""
        c = self.shape[-1]
        out = (*self._spatial(kernel, strides, padding), c)
        weights = kernel * kernel * c + (c if bias else 0)
        self.params += weights
        self.trainable += weights
        self.macs += math.prod(out) * kernel * kernel
        return self._emit(out)

    def squeeze_excite(self, filters, *, reshape=False):
        """`cnnblocks.blocks.squeeze_excite` with fused activations: global pooling (then a
        Reshape with `reshape`), two 1x1 convolutions with biases, the Multiply."""
        gated = self.shape
        if reshape:
            self.global_pool()
            self.elementwise((1, 1, gated[-1]))
        else:
            self.global_pool(keepdims=True)
        self.conv(filters, 1, bias=True)
        self.conv(gated[-1], 1, bias=True)
        return self.elementwise(gated)

    def bn(self):
        """BatchNormalization with scale and center: 4 numbers per channel, 2 trainable."""
        c = self.shape[-1]
        self.params += 4 * c
        self.trainable += 2 * c
        return self._emit(self.shape)

    def elementwise(self, shape=None):
        """A layer that writes one output of `shape` (default the current one) and has no
        weights: an activation, an addition, a multiplication."""
        return self._emit(self.shape if shape is None else shape)

    def pool(self, size, strides, padding=0):
        """MaxPooling2D or AveragePooling2D of a square window, "valid" after zero `padding`
        on every side, or `padding="same"`."""
        return self._emit((*self._spatial(size, strides, padding), self.shape[-1]))

    def separable_conv(self, filters, kernel=3, strides=1, *, bias=False, padding="same"):
        """SeparableConv2D (multiplier 1) with a square kernel, padded as `conv`: the depthwise
        kernel, then the 1x1 pointwise one (MACs of both, as `cnnblocks.count_macs`)."""
        c = self.shape[-1]
        out = (*self._spatial(kernel, strides, padding), filters)
        weights = kernel * kernel * c + c * filters + (filters if bias else 0)
        self.params += weights
        self.trainable += weights
        self.macs += math.prod(out[:2]) * c * (kernel * kernel + filters)
        return self._emit(out)

    def conv_hw(self, filters, kernel, strides=1, *, bias=False, padding="same"):
        """Conv2D with a `(kh, kw)` kernel (Inception's 1x7 and 7x1), stride `strides` on both
        axes, Keras' `padding` ("same" or "valid")."""
        (h, w, c), (kh, kw) = self.shape, kernel
        out = ((-(-h // strides), -(-w // strides)) if padding == "same" else
               (_out(h, kh, strides, 0, 0), _out(w, kw, strides, 0, 0))) + (filters,)
        weights = kh * kw * c * filters + (filters if bias else 0)
        self.params += weights
        self.trainable += weights
        self.macs += math.prod(out) * kh * kw * c
        return self._emit(out)

    def bn_unscaled(self):
        """BatchNormalization without scale (gamma): 3 numbers per channel, 1 trainable."""
        c = self.shape[-1]
        self.params += 3 * c
        self.trainable += c
        return self._emit(self.shape)

    def layer_norm(self):
        """LayerNormalization over the last axis with scale and center: 2 numbers per channel,
        both trainable."""
        c = self.shape[-1]
        self.params += 2 * c
        self.trainable += 2 * c
        return self._emit(self.shape)

    def dense_map(self, units, bias=True):
        """Dense on the last axis of the current shape (a 1x1 convolution of a feature map as
        ConvNeXt's, or a vector): `units` outputs at every position."""
        c = self.shape[-1]
        out = (*self.shape[:-1], units)
        self.params += c * units + (units if bias else 0)
        self.trainable += c * units + (units if bias else 0)
        self.macs += math.prod(out) * c
        return self._emit(out)

    def global_pool(self, keepdims=False):
        """Global average (or max) pooling over height and width."""
        c = self.shape[-1]
        return self._emit((1, 1, c) if keepdims else (c,))

    def dense(self, units, bias=True):
        """Dense on a vector."""
        (features,) = self.shape
        self.params += features * units + (units if bias else 0)
        self.trainable += features * units + (units if bias else 0)
        self.macs += features * units
        return self._emit((units,))

    def flatten(self):
        """Flatten: the feature map as one vector."""
        return self._emit((math.prod(self.shape),))

    def concat(self, *branches):
        """Concatenate on the channel axis. Each branch is a shape `(h, w, c)` a branch's walk
        returned, or a channel count for a map of the current height and width."""
        shapes = [b if isinstance(b, tuple) else (*self.shape[:2], b) for b in branches]
        if len({s[:2] for s in shapes}) != 1:
            raise ValueError(f"concat: branches of different sizes, got {shapes}")
        return self._emit((*shapes[0][:2], sum(s[-1] for s in shapes)))

    def adaptive_pool(self, size):
        """`cnnblocks.layers.AdaptiveAveragePooling2D` to `size` x `size` (any input size)."""
        return self._emit((size, size, self.shape[-1]))

    def head(self, include_top, pooling, classes, dropout=False):
        """The global-pooling head of most builders (`cnnblocks.architectures.common`'s
        `global_pool_head`): with a top, global average pooling, a dropout layer if `dropout`,
        the classifier; without, the global `pooling` if any."""
        if include_top:
            self.global_pool()
            if dropout:
                self.elementwise()
            return self.dense(classes)
        if pooling is not None:
            return self.global_pool()
        return self.shape

    def stage(self, name):
        """Records the current shape as the output of stage `name`."""
        self.stages.append((name, self.shape))

    def result(self):
        return Estimate(params=self.params, trainable=self.trainable, macs=self.macs,
                        activations=self.activations, output_shape=self.shape,
                        stages=tuple(self.stages))
