"""Small custom layers the architectures need and Keras does not ship.

Each is written with `keras.ops` only (any backend), registered under the `cnnblocks` package
and serializable through `get_config`, so `.keras` files that contain them load with
`keras.models.load_model(path, safe_mode=True)` once `cnnblocks` is imported.
"""

import numbers

import keras
import numpy as np
from keras import layers, ops

from cnnblocks import _validation as check


def _channel_axis(axis):
    """`axis` checked as an int (the channel axis: -1 or 1 for images)."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"`axis` must be an integer, received {check.describe(axis)}.")
    return int(axis)


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
        self.size = int(size)
        self.alpha = check.positive_number(alpha, "alpha", allow_zero=True)
        self.beta = check.positive_number(beta, "beta", allow_zero=True)
        self.k = check.positive_number(k, "k")
        self.axis = _channel_axis(axis)

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


def adaptive_pooling_matrix(input_size, output_size):
    """The `(output_size, input_size)` matrix whose rows average PyTorch's adaptive-pooling
    windows: row `i` covers `[floor(i n / o), ceil((i + 1) n / o))`, computed in integers."""
    matrix = np.zeros((output_size, input_size), "float32")
    for i in range(output_size):
        start = (i * input_size) // output_size
        end = -((-(i + 1) * input_size) // output_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


@keras.saving.register_keras_serializable(package="cnnblocks")
class AdaptiveAveragePooling2D(layers.Layer):
    """Average pooling to a fixed output size with PyTorch's windows (`adaptive_avg_pool2d`).

    Output cell `(i, j)` is the mean of input rows `[floor(i H / oh), ceil((i + 1) H / oh))` and
    columns likewise: windows of uneven size where `H` is not a multiple of `oh` (14 -> 4 gives
    windows of 4 starting at 0, 3, 7, 10), an upsampling where `H < oh`. The windows are
    computed in integers when the layer is built and applied as two small matrix products, so
    the result is the same on every backend.

    torchvision's VGG head (7x7) and GoogLeNet's auxiliary classifiers (4x4) use it.

    Args:
        output_size: int or pair `(oh, ow)`.
        data_format: `"channels_last"` or `"channels_first"`; None for Keras' setting.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        A tensor `(batch, oh, ow, channels)` (channels first under that data format).

    Note:
        Keras has `keras.layers.AdaptiveAveragePooling2D` with the same windows; its JAX
        implementation (Keras 3.15) computes the window ends in floating point and gets some
        wrong (7 -> 7 and 14 -> 7 return NaN in the last row and column, 21 -> 7 misplaces
        windows), so cnnblocks uses this layer. The input's height and width must be known
        when the layer is built.

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import AdaptiveAveragePooling2D
        >>> x = np.arange(14 * 14, dtype="float32").reshape(1, 14, 14, 1)
        >>> tuple(AdaptiveAveragePooling2D(4)(x).shape)
        (1, 4, 4, 1)
    """

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        pair = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * 2
        if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral)
                                 or v <= 0 for v in pair):
            raise ValueError("`output_size` must be a positive integer or a pair of them, "
                             f"received {output_size!r}.")
        self.output_size = (int(pair[0]), int(pair[1]))
        self.data_format = data_format or keras.config.image_data_format()
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError("`data_format` must be 'channels_last' or 'channels_first', "
                             f"received {data_format!r}.")

    def _spatial(self, shape):
        return tuple(shape[1:3]) if self.data_format == "channels_last" else tuple(shape[2:4])

    def build(self, input_shape):
        height, width = self._spatial(input_shape)
        if height is None or width is None:
            raise ValueError("AdaptiveAveragePooling2D needs a static height and width; "
                             f"received input shape {tuple(input_shape)}.")
        self._rows = adaptive_pooling_matrix(height, self.output_size[0])
        self._cols = adaptive_pooling_matrix(width, self.output_size[1])

    def call(self, inputs):
        rows = ops.convert_to_tensor(self._rows, dtype=inputs.dtype)
        cols = ops.convert_to_tensor(self._cols, dtype=inputs.dtype)
        if self.data_format == "channels_last":
            return ops.einsum("ih,nhwc,jw->nijc", rows, inputs, cols)
        return ops.einsum("ih,nchw,jw->ncij", rows, inputs, cols)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            return (input_shape[0], *self.output_size, input_shape[3])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self):
        config = super().get_config()
        config.update(output_size=self.output_size, data_format=self.data_format)
        return config


@keras.saving.register_keras_serializable(package="cnnblocks")
class LayerScale(layers.Layer):
    """A learned per-channel scale of a residual branch: `x * gamma` (Touvron et al., "Going
    deeper with Image Transformers", ICCV 2021, https://arxiv.org/abs/2103.17239, section 2:
    "LayerScale"; ConvNeXt's blocks end with it, Liu et al. 2022).

    `gamma` has one entry per channel of the last axis, all starting at `init_values` (small,
    1e-6 in ConvNeXt, so each block starts close to the identity).

    Args:
        init_values: float, the initial value of every entry of `gamma`. Default 1e-6.
        projection_dim: int, the channels (the size of the input's last axis).
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        A tensor of the input's shape.

    Parameters:
        `projection_dim` (one weight, `gamma`, of that shape: keras.applications' ConvNeXt
        `LayerScale` has the same single weight, so its weight files load).

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import LayerScale
        >>> scale = LayerScale(0.5, 4)
        >>> float(scale(np.ones((1, 2, 2, 4), "float32"))[0, 0, 0, 0])
        0.5
    """

    def __init__(self, init_values=1e-6, projection_dim=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(init_values, bool) or not isinstance(init_values, numbers.Real) or \
                not np.isfinite(init_values):
            raise TypeError(f"`init_values` must be a finite number, received "
                            f"{check.describe(init_values)}.")
        self.init_values = float(init_values)
        self.projection_dim = check.positive_int(projection_dim, "projection_dim")

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.projection_dim:
            raise ValueError(f"LayerScale has `projection_dim`={self.projection_dim} but its "
                             f"input has {input_shape[-1]} channels (shape "
                             f"{tuple(input_shape)}).")
        self.gamma = self.add_weight(
            name="gamma", shape=(self.projection_dim,),
            initializer=keras.initializers.Constant(self.init_values), trainable=True)

    def call(self, inputs):
        return inputs * ops.cast(self.gamma, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(init_values=self.init_values, projection_dim=self.projection_dim)
        return config


@keras.saving.register_keras_serializable(package="cnnblocks")
class StochasticDepth(layers.Layer):
    """Stochastic depth of a residual branch (Huang et al., "Deep Networks with Stochastic
    Depth", ECCV 2016, https://arxiv.org/abs/1603.09382; timm's and torchvision's "DropPath",
    mode "row"): in training each sample's branch is dropped (zeroed) with probability
    `drop_path_rate` and kept samples are scaled by `1 / (1 - drop_path_rate)`; at inference
    the layer is the identity. The layer has no weights.

    Args:
        drop_path_rate: float in [0, 1), the probability of dropping a sample's branch.
        seed: int or None, the seed of its random draws. Default None.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        A tensor of the input's shape.

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import StochasticDepth
        >>> x = np.ones((2, 3, 3, 4), "float32")
        >>> bool((StochasticDepth(0.5)(x, training=False) == x).all())
        True
    """

    def __init__(self, drop_path_rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(drop_path_rate, bool) or not isinstance(drop_path_rate, numbers.Real):
            raise TypeError(f"`drop_path_rate` must be a number in [0, 1), received "
                            f"{check.describe(drop_path_rate)}.")
        if not 0 <= drop_path_rate < 1:
            raise ValueError(f"`drop_path_rate` must be a number in [0, 1), received "
                             f"{check.describe(drop_path_rate)}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"`seed` must be None or an int, received {check.describe(seed)}.")
        self.drop_path_rate = float(drop_path_rate)
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs, training=None):
        if not training or self.drop_path_rate == 0:
            return inputs
        keep = 1.0 - self.drop_path_rate
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        mask = ops.floor(keep + keras.random.uniform(shape, seed=self.seed_generator,
                                                     dtype=inputs.dtype))
        return inputs / keep * mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(drop_path_rate=self.drop_path_rate, seed=self.seed)
        return config


def _channels_of(layer, input_shape, what):
    """The known size of `layer.axis` in `input_shape` (ValueError naming the layer's
    argument if the axis is out of range or its size unknown, or if `what` (its divisor
    `(name, value)`) does not divide it)."""
    rank = len(input_shape)
    if not -rank <= layer.axis < rank:
        raise ValueError(f"`axis`={layer.axis} is out of range for an input of rank {rank} "
                         f"(shape {tuple(input_shape)}).")
    size = input_shape[layer.axis]
    arg, divisor = what
    if size is None:
        raise ValueError(f"{type(layer).__name__} needs a known channel count on `axis`="
                         f"{layer.axis}; received input shape {tuple(input_shape)}.")
    if size % divisor:
        raise ValueError(f"`{arg}`={divisor} must divide the {size} channels of the input "
                         f"(shape {tuple(input_shape)}, `axis`={layer.axis}).")
    return int(size)


@keras.saving.register_keras_serializable(package="cnnblocks")
class ChannelShuffle(layers.Layer):
    """The channel shuffle of ShuffleNet (Zhang, Zhou, Lin, Sun, "ShuffleNet: An Extremely
    Efficient Convolutional Neural Network for Mobile Devices", CVPR 2018,
    https://arxiv.org/abs/1707.01083, section 3.1, Figure 1(c); ShuffleNet V2 ends every unit
    with it, Ma et al. 2018, https://arxiv.org/abs/1807.11164, Figure 3).

    The `c` channels, seen as `groups` groups of `c / groups`, are interleaved: reshape to
    `(groups, c / groups)`, transpose, flatten. Output channel `j * groups + i` is input
    channel `i * (c / groups) + j`: with 2 groups, channels `0 .. c/2 - 1` (the first group)
    go to the even positions, the second group to the odd ones. torchvision's
    `channel_shuffle(x, groups)` computes the same permutation (here a gather of the channel
    axis, exact on every backend). The layer has no weights.

    Args:
        groups: int >= 1, the number of groups; it must divide the channels. Default 2.
        axis: int, the channel axis: -1 for channels_last, 1 for channels_first. Default -1.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        A tensor of the input's shape, its channels permuted.

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import ChannelShuffle
        >>> x = np.arange(6, dtype="float32").reshape(1, 1, 1, 6)
        >>> np.asarray(ChannelShuffle(2)(x)).ravel().tolist()
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """

    def __init__(self, groups=2, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.groups = check.positive_int(groups, "groups")
        self.axis = _channel_axis(axis)

    def build(self, input_shape):
        channels = _channels_of(self, input_shape, ("groups", self.groups))
        per_group = channels // self.groups
        # Output position j * groups + i reads input channel i * per_group + j.
        self._order = np.arange(channels).reshape(self.groups, per_group).T.ravel()

    def call(self, inputs):
        order = ops.convert_to_tensor(self._order, dtype="int32")
        return ops.take(inputs, order, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(groups=self.groups, axis=self.axis)
        return config


@keras.saving.register_keras_serializable(package="cnnblocks")
class ChannelSplit(layers.Layer):
    """One of `parts` equal consecutive slices of the channels: ShuffleNet V2's channel split
    (Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
    ECCV 2018, https://arxiv.org/abs/1807.11164, section 4, Figure 3(c); PyTorch's
    `x.chunk(parts, dim=1)[part]` on channels that `parts` divides).

    One layer per slice (each with one output) keeps the graph plain: a unit's split is two
    layers, `ChannelSplit(0)` and `ChannelSplit(1)`, on the same input. The layer has no
    weights.

    Args:
        part: int, which slice, from 0 (the first channels) to `parts - 1`.
        parts: int >= 1, the number of slices; it must divide the channels. Default 2.
        axis: int, the channel axis: -1 for channels_last, 1 for channels_first. Default -1.
        **kwargs: passed to `keras.layers.Layer` (`name`, `dtype`, ...).

    Returns:
        The channels `[part * c / parts, (part + 1) * c / parts)` of the input (`c` channels).

    Example:
        >>> import numpy as np
        >>> from cnnblocks.layers import ChannelSplit
        >>> x = np.arange(6, dtype="float32").reshape(1, 1, 1, 6)
        >>> np.asarray(ChannelSplit(1)(x)).ravel().tolist()
        [3.0, 4.0, 5.0]
    """

    def __init__(self, part, parts=2, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.parts = check.positive_int(parts, "parts")
        if isinstance(part, bool) or not isinstance(part, numbers.Integral):
            raise TypeError(f"`part` must be an integer in [0, {self.parts}), received "
                            f"{check.describe(part)}.")
        if not 0 <= part < self.parts:
            raise ValueError(f"`part` must be an integer in [0, {self.parts}) (parts="
                             f"{self.parts}), received {check.describe(part)}.")
        self.part = int(part)
        self.axis = _channel_axis(axis)

    def build(self, input_shape):
        channels = _channels_of(self, input_shape, ("parts", self.parts))
        width = channels // self.parts
        self._rank = len(input_shape)
        self._window = (self.part * width, (self.part + 1) * width)
        self._width = width

    def call(self, inputs):
        window = [slice(None)] * self._rank
        window[self.axis] = slice(*self._window)
        return inputs[tuple(window)]

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        size = shape[self.axis]
        shape[self.axis] = None if size is None else size // self.parts
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(part=self.part, parts=self.parts, axis=self.axis)
        return config
