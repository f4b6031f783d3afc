"""GoogLeNet (Szegedy et al., "Going Deeper with Convolutions", CVPR 2015,
https://arxiv.org/abs/1409.4842), as in Table 1 and section 5 of the paper.

The network is its spec table, `GOOGLENET_SPEC`, built by one builder from
`cnnblocks.blocks.inception_module`. The paper's version (LocalRespNorm, convolutions with
biases, 5x5 convolutions in the 5x5 branches, optional auxiliary classifiers) is the default;
`normalization="batchnorm"` gives the common modern variant.
"""

import numbers

from keras import layers

from cnnblocks import _validation as check
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, inception_module
from cnnblocks.blocks.common import spatial_size
from cnnblocks.layers import LocalResponseNormalization

#: Table 1 of the paper after the stem, top to bottom. A row is either an Inception module,
#: `(name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)`, or the name of a 3x3/2
#: max pool. Output sizes at a 224x224 input are in the comments (Table 1's "output size").
GOOGLENET_SPEC = (
    # name           #1x1  #3x3r  #3x3  #5x5r  #5x5  proj      output
    ("inception_3a",   64,    96,  128,    16,   32,   32),  # 28x28x256
    ("inception_3b",  128,   128,  192,    32,   96,   64),  # 28x28x480
    "pool3_3x3_s2",                                          # 14x14x480
    ("inception_4a",  192,    96,  208,    16,   48,   64),  # 14x14x512  -> aux1
    ("inception_4b",  160,   112,  224,    24,   64,   64),  # 14x14x512
    ("inception_4c",  128,   128,  256,    24,   64,   64),  # 14x14x512
    ("inception_4d",  112,   144,  288,    32,   64,   64),  # 14x14x528  -> aux2
    ("inception_4e",  256,   160,  320,    32,  128,  128),  # 14x14x832
    "pool4_3x3_s2",                                          # 7x7x832
    ("inception_5a",  256,   160,  320,    32,  128,  128),  # 7x7x832
    ("inception_5b",  384,   192,  384,    48,  128,  128),  # 7x7x1024
)

#: Section 5: the auxiliary classifiers sit on the outputs of these modules.
AUX_TAPS = {"inception_4a": "aux1", "inception_4d": "aux2"}

NORMALIZATIONS = ("lrn", "batchnorm", None)

#: LocalRespNorm settings of the reference model (BVLC Caffe bvlc_googlenet; the paper gives
#: none): see `cnnblocks.layers.LocalResponseNormalization`.
LRN_SETTINGS = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)

#: Smallest input: 32x32 ends in a 1x1 map after inception_5b.
MIN_SIZE = 32
#: Smallest input with auxiliary classifiers: their 5x5 average pool needs a 5x5 map at
#: inception_4a, whose size is ceil(input / 16).
AUX_MIN_SIZE = 65


def _conv(x, filters, kernel_size, *, strides=1, padding="same", norm, data_format, name):
    """A convolution with ReLU; bias and no BN unless `norm == "batchnorm"` (then BN, no bias).

    Names: `name`, and `name_bn`, `name_relu` with batch norm (the inception modules' grammar).
    """
    batch_norm = norm == "batchnorm"
    return conv_bn_act(x, filters, kernel_size, strides=strides, padding=padding,
                       batch_norm=batch_norm, use_bias=not batch_norm, data_format=data_format,
                       name=name, suffixes=("", "_bn", "_relu"))


def _max_pool(x, *, data_format, name):
    """3x3/2 max pooling, "same" padding: 112 -> 56 -> 28 -> 14 -> 7 as in Table 1."""
    return layers.MaxPooling2D(3, strides=2, padding="same", data_format=data_format,
                               name=name)(x)


def _aux_head(x, prefix, *, classes, classifier_activation, norm, data_format):
    """An auxiliary classifier of section 5 (Caffe's loss1/loss2 towers).

    avg pool 5x5/3 (14x14 -> 4x4), 1x1 conv 128 + ReLU, FC 1024 + ReLU, dropout 70%,
    linear `classes` + `classifier_activation`. Layers are `{prefix}_avg_pool`, `{prefix}_conv`,
    `{prefix}_flatten`, `{prefix}_fc`, `{prefix}_dropout`, `{prefix}_predictions`.
    """
    x = layers.AveragePooling2D(5, strides=3, padding="valid", data_format=data_format,
                                name=f"{prefix}_avg_pool")(x)
    x = _conv(x, 128, 1, norm=norm, data_format=data_format, name=f"{prefix}_conv")
    x = layers.Flatten(data_format=data_format, name=f"{prefix}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{prefix}_fc")(x)
    x = layers.Dropout(0.7, name=f"{prefix}_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation,
                        name=f"{prefix}_predictions")(x)


def _check_googlenet_args(*, include_top, weights, aux_classifiers, normalization, dropout):
    """The checks specific to GoogLeNet, before the shared ones."""
    check.choice(normalization, "normalization", NORMALIZATIONS)
    if not isinstance(aux_classifiers, bool):
        raise TypeError(f"`aux_classifiers` must be a bool, received {aux_classifiers!r}.")
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
        raise TypeError(f"`dropout` must be a number in [0, 1), received {dropout!r} "
                        f"(type {type(dropout).__name__}).")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be in [0, 1), received {dropout!r}.")
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError("`weights='imagenet'` is not available for GoogLeNet: the paper's "
                         "weights were never released in keras.applications' format and "
                         "cnnblocks ships none. Use weights=None or the path of a weight file "
                         "you trained.")
    if aux_classifiers and include_top is False:
        raise ValueError("`aux_classifiers=True` needs `include_top=True` (the auxiliary "
                         f"classifiers are extra classification heads); received "
                         f"include_top={include_top!r}.")


def GoogLeNet(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              aux_classifiers=False, normalization="lrn", dropout=0.4, name="googlenet"):
    """GoogLeNet, the 22-layer Inception network of ILSVRC 2014 (Table 1 of the paper).

    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015,
    https://arxiv.org/abs/1409.4842.

    Stem: `conv1_7x7_s2` (7x7/2, 64) -> `pool1_3x3_s2` (max 3x3/2) -> `pool1_norm1` (LRN)
    -> `conv2_3x3_reduce` (1x1, 64) -> `conv2_3x3` (3x3, 192) -> `conv2_norm2` (LRN)
    -> `pool2_3x3_s2`; then the nine Inception modules of `GOOGLENET_SPEC` (`inception_3a` ...
    `inception_5b`, every layer of a module starts with its name) with max pools
    `pool3_3x3_s2` and `pool4_3x3_s2`; then `avg_pool` (7x7 average), `dropout` (40%) and
    `predictions` (linear `classes` + softmax). Every convolution is followed by a ReLU.
    At 224x224 the sizes equal Table 1's output column: 112, 56, 28, 14, 7, then 1x1x1024.

    Args:
        include_top: bool, add `avg_pool`, `dropout` and `predictions`. Default True.
        weights: None (random initialization) or the path of a weight file. `"imagenet"` is
            refused: no ImageNet weights are available for GoogLeNet.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3) (or (3, H, W) for channels_first); at least 32x32, at
            least 65x65 with auxiliary classifiers; must be static with a top. Default
            (224, 224, 3) with a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"`: global pooling of the last feature map when
            `include_top=False` (Keras' convention; ignored with a top).
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions` (and of the auxiliary
            predictions). Default `"softmax"`.
        aux_classifiers: bool, add the two auxiliary classifiers of section 5 on the outputs
            of `inception_4a` (`aux1_*`) and `inception_4d` (`aux2_*`); the model then has
            three outputs `[predictions, aux1_predictions, aux2_predictions]`. Needs
            `include_top=True`. Default False.
        normalization: `"lrn"` (the paper: LocalRespNorm in the stem, convolutions with
            biases), `"batchnorm"` (BN after every convolution, the Inception modules' and the
            auxiliary heads' included, convolutions without bias, no LRN) or None (neither:
            convolutions with biases only). Default `"lrn"`.
        dropout: float in [0, 1), the dropout rate before `predictions`. Default 0.4 (40%).
        name: model name. Default `"googlenet"`.

    Returns:
        A `keras.Model` with 6,998,552 parameters at the defaults (13,378,280 with
        `aux_classifiers=True`; 7,020,392 with `normalization="batchnorm"`, of which
        7,005,832 trainable). Its output is
        `(batch, classes)`; without a top `(batch, H/32, W/32, 1024)` (rounded up), or
        `(batch, 1024)` with `pooling`. With `aux_classifiers=True` a list of three
        `(batch, classes)` outputs.

    Raises:
        ValueError / TypeError: bad `normalization`, `aux_classifiers`, `dropout`, `weights`
            (including `"imagenet"`) or any shared builder argument, naming the argument and
            echoing the value received.

    Note:
        Paddings. The paper does not give them; they are chosen so that every size equals
        Table 1 at 224x224 and so that the sampling grid equals the reference Caffe model
        (BVLC `bvlc_googlenet`): `conv1_pad` zero-pads 3 on every side before the "valid"
        7x7/2 convolution (224 -> 112, as Caffe's `pad: 3`), and the 3x3/2 max pools use
        "same" padding, which pads only at the bottom and right, exactly Caffe's ceil-mode
        pooling (112 -> 56 -> 28 -> 14 -> 7). All other convolutions and the modules' 3x3/1
        pools are "same" (symmetric). A spatial size at input `s` is `ceil(s / 2**i)`.

    Note:
        The 7x7/1 average pool is a global average pool (`GlobalAveragePooling2D`, named
        `avg_pool` as in the other models): at 224x224 its input is 7x7, so it is the paper's
        7x7/1 pool followed by the 1x1x1024 -> 1024 reshape; at other sizes it stays global
        (as torchvision's adaptive pool) so the classifier keeps its 1024 inputs.

    Note:
        The paper trains with a 0.3 loss weight on each auxiliary classifier and discards them
        at inference. Train the three-output model with
        `model.compile(..., loss_weights=[1.0, 0.3, 0.3])`; for inference keep only the main
        output: `keras.Model(model.input, model.outputs[0])` (or build with the default
        `aux_classifiers=False`, which has the same layer names for every shared layer).

    Note:
        LocalRespNorm uses the reference Caffe model's settings (size 5, alpha 1e-4, beta 0.75,
        k 1), since the paper gives none; see `cnnblocks.layers.LocalResponseNormalization`.
        The `"batchnorm"` variant keeps the 5x5 convolutions and the max pools of the paper;
        torchvision's GoogLeNet, also BN-based, uses a 3x3 convolution in the "5x5" branch
        and other pool paddings, so its 6,624,904 parameters differ.

    Note:
        Table 1's "params" column is approximate (its unit is 1024 weights, biases left out;
        conv1's "2.7K" is an erratum for 9,408 weights, and inception 4c and 5a are 7% and
        5% off). The exact counts follow from the channel table; see
        `tests/test_googlenet.py`. Depth: 22 layers with weights on the longest path
        (1 + 2 stem convolutions, 2 per module, the classifier), 27 with the pools.

    Example:
        >>> from cnnblocks import GoogLeNet
        >>> model = GoogLeNet(include_top=False, input_shape=(64, 64, 3), pooling="avg")
        >>> tuple(model.output.shape)
        (None, 1024)
        >>> trainer = GoogLeNet(aux_classifiers=True, classes=10)
        >>> len(trainer.outputs)
        3
    """
    _check_googlenet_args(include_top=include_top, weights=weights,
                          aux_classifiers=aux_classifiers, normalization=normalization,
                          dropout=dropout)
    classes = common.check_builder_args(
        include_top=include_top, weights=weights, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, weights_key="googlenet")
    inputs, x, data_format, axis = common.model_input(
        input_tensor, input_shape, default_size=224, min_size=MIN_SIZE,
        include_top=include_top, weights=weights, weights_key="googlenet")
    if aux_classifiers:
        size = spatial_size(tuple(x.shape), data_format)
        if any(s is not None and s < AUX_MIN_SIZE for s in size):
            raise ValueError(
                f"`aux_classifiers=True` needs an input of at least {AUX_MIN_SIZE}x"
                f"{AUX_MIN_SIZE} (their 5x5/3 average pool needs a 5x5 map at inception_4a, "
                f"which is 1/16 of the input); received input_shape={input_shape!r} "
                f"(image size {size}).")
    conv = dict(norm=normalization, data_format=data_format)

    # Stem (Table 1, rows 1-4; Figure 3).
    x = layers.ZeroPadding2D(3, data_format=data_format, name="conv1_pad")(x)
    x = _conv(x, 64, 7, strides=2, padding="valid", name="conv1_7x7_s2", **conv)  # 112x112x64
    x = _max_pool(x, data_format=data_format, name="pool1_3x3_s2")                 # 56x56x64
    if normalization == "lrn":
        x = LocalResponseNormalization(**LRN_SETTINGS, axis=axis, name="pool1_norm1")(x)
    x = _conv(x, 64, 1, name="conv2_3x3_reduce", **conv)                           # 56x56x64
    x = _conv(x, 192, 3, name="conv2_3x3", **conv)                                  # 56x56x192
    if normalization == "lrn":
        x = LocalResponseNormalization(**LRN_SETTINGS, axis=axis, name="conv2_norm2")(x)
    x = _max_pool(x, data_format=data_format, name="pool2_3x3_s2")                 # 28x28x192

    # Inception modules and the max pools between them (Table 1, rows 5-15).
    module_norm = "batchnorm" if normalization == "batchnorm" else None
    aux_outputs = []
    for row in GOOGLENET_SPEC:
        if isinstance(row, str):
            x = _max_pool(x, data_format=data_format, name=row)
            continue
        module, *widths = row
        x = inception_module(x, *widths, norm=module_norm, data_format=data_format,
                             name=module)
        if aux_classifiers and module in AUX_TAPS:
            aux_outputs.append(_aux_head(x, AUX_TAPS[module], classes=classes,
                                         classifier_activation=classifier_activation,
                                         **conv))

    # Classifier (Table 1, last rows): 7x7/1 average pool, dropout 40%, linear + softmax.
    if include_top:
        x = layers.GlobalAveragePooling2D(data_format=data_format, name="avg_pool")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = common.classifier(x, include_top=False, pooling=pooling, classes=classes,
                              classifier_activation=None, data_format=data_format)
    outputs = [x, *aux_outputs] if aux_classifiers else x
    return common.finish(inputs, outputs, name=name, weights=weights, weights_key="googlenet",
                         include_top=include_top)


MODELS = {"googlenet": GoogLeNet}
