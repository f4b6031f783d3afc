"""Small custom layers the architectures need and Keras does not ship.

Each is written with `keras.ops` only (any backend), registered under the `cnnblocks` package
and serializable through `get_config`, so `.keras` files that contain them load with
`keras.models.load_model(path, safe_mode=True)` once `cnnblocks` is imported.
"""

import numbers

import keras
from keras import layers, ops

from cnnblocks import _validation as check


@keras.saving.register_keras_serializable(package="cnnblocks")
class LocalResponseNormalization(layers.Layer):
    """Local response normalization across channels (Krizhevsky et al. 2012, section 3.3).

    Each activation is divided by a power of the summed squares of its `size` neighbours on
    the channel axis (itself included)::

        b_c = a_c / (k + alpha / size * sum_{j=c-size//2}^{c+size//2} a_j ** 2) ** beta

    with the sum clipped at the first and last channel (missing neighbours count as zero).
    GoogLeNet ("Going Deeper with Convolutions", Szegedy et al. 2014,
    https://arxiv.org/abs/1409.4842) applies it after its first max pool and after its 3x3
    convolution ("LocalRespNorm" in Figure 3). The layer has no weights.

    Args:
        size: odd int, the number of channels in the window (the paper's `n`). Default 5.
        alpha: float >= 0, the scale of the sum of squares. Default 1e-4.
        beta: float >= 0, the exponent. Default 0.75.
        k: float > 0, the additive constant (Caffe's `k`, TensorFlow's `bias`). Default 1.0.
        axis: int, the channel axis: -1 for channels_last, 1 for channels_first. Default -1.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        A tensor of the input's shape.

    Note:
        The defaults are those of the reference GoogLeNet, BVLC Caffe's
        `models/bvlc_googlenet/train_val.prototxt` (`pool1/norm1` and `conv2/norm2`:
        `local_size: 5, alpha: 0.0001, beta: 0.75`, and Caffe's default `k: 1`); the GoogLeNet
        paper itself gives no LRN settings. The formula is Caffe's and PyTorch's
        (`torch.nn.LocalResponseNorm`), where `alpha` is divided by `size`.
        TensorFlow's `tf.nn.local_response_normalization` does not divide: the same layer
        there is `depth_radius=size // 2, bias=k, alpha=alpha / size, beta=beta`.

    Note:
        Only odd window sizes are accepted (as in Caffe), so that the window is centred.

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import LocalResponseNormalization
        >>> lrn = LocalResponseNormalization(size=5, alpha=1e-4, beta=0.75, k=1.0)
        >>> tuple(lrn(np.ones((1, 4, 4, 8), "float32")).shape)
        (1, 4, 4, 8)
    """

    def __init__(self, size=5, alpha=1e-4, beta=0.75, k=1.0, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"`size` must be a positive odd integer, received {size!r} "
                            f"(type {type(size).__name__}).")
        if size <= 0 or size % 2 == 0:
            raise ValueError(f"`size` must be a positive odd integer, received {size!r}.")
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"`axis` must be an integer, received {axis!r}.")
        self.size = int(size)
        self.alpha = check.positive_number(alpha, "alpha", allow_zero=True)
        self.beta = check.positive_number(beta, "beta", allow_zero=True)
        self.k = check.positive_number(k, "k")
        self.axis = int(axis)

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(f"`axis`={self.axis} is out of range for an input of rank {rank} "
                             f"(shape {tuple(input_shape)}).")
        self._axis = self.axis % rank
        self._rank = rank

    def call(self, inputs):
        axis, half = self._axis, self.size // 2
        squares = ops.square(inputs)
        padding = [[0, 0]] * self._rank
        padding[axis] = [half, half]
        squares = ops.pad(squares, padding)
        channels = ops.shape(inputs)[axis]
        window = [slice(None)] * self._rank
        total = None
        for offset in range(self.size):
            window[axis] = slice(offset, offset + channels)
            term = squares[tuple(window)]
            total = term if total is None else total + term
        scale = self.k + (self.alpha / self.size) * total
        return inputs / ops.power(scale, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, alpha=self.alpha, beta=self.beta, k=self.k,
                      axis=self.axis)
        return config


@keras.saving.register_keras_serializable(package="cnnblocks")
class ScaledAdd(layers.Layer):
    """The scaled residual sum of Inception-ResNet: `inputs[0] + scale * inputs[1]`.

    Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual Connections on
    Learning", AAAI 2017, https://arxiv.org/abs/1602.07261, section 3.3 (Figure 20): the
    residual branch is scaled down (by 0.1 to 0.3) before it is added to the shortcut, which
    stabilizes the training of wide residual networks. The layer has no weights; it computes
    exactly what keras.applications' InceptionResNetV2 `CustomScaleLayer` computes (a
    multiplication, then the addition), so the two agree bit for bit.

    Args:
        scale: float, the factor of the residual (second) input. Default 1.0.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        A tensor of the inputs' shape: call it on `[shortcut, residual]`.

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import ScaledAdd
        >>> ones = np.ones((1, 2, 2, 3), "float32")
        >>> float(ScaledAdd(0.5)([ones, ones])[0, 0, 0, 0])
        1.5
    """

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = check.positive_number(scale, "scale", allow_zero=True)

    def call(self, inputs):
        shortcut, residual = inputs
        return shortcut + residual * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale)
        return config
