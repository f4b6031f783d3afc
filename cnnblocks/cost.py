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
        """ZeroPadding2D of `amount` on every side."""
        h, w, c = self.shape
        return self._emit((h + 2 * amount, w + 2 * amount, c))

    def conv(self, filters, kernel=1, strides=1, *, groups=1, bias=False, padding=0):
        """Conv2D with a square kernel, zero `padding` on every side before it ("valid")."""
        h, w, c = self.shape
        out = (_out(h, kernel, strides, padding, padding), _out(w, kernel, strides, padding,
                                                                  padding), filters)
        weights = kernel * kernel * (c // groups) * filters + (filters if bias else 0)
        self.params += weights
        self.trainable += weights
        self.macs += math.prod(out) * kernel * kernel * (c // groups)
        return self._emit(out)

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

    def stage(self, name):
        """Records the current shape as the output of stage `name`."""
        self.stages.append((name, self.shape))

    def result(self):
        return Estimate(params=self.params, trainable=self.trainable, macs=self.macs,
                        activations=self.activations, output_shape=self.shape,
                        stages=tuple(self.stages))
