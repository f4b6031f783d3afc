"""DenseNet (Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional Networks",
CVPR 2017, https://arxiv.org/abs/1608.06993): the ImageNet DenseNet-BC-121/161/169/201 of
Table 1.

Four `cnnblocks.blocks.dense_block`s (growth rate 32, 1x1 bottlenecks of 128) joined by
`transition_block`s (compression 0.5), after a 7x7/2 convolution and a 3x3/2 max pool, and
before a final BN-ReLU and the classifier. Layer names, parameter counts and weight order equal
keras.applications' DenseNet121/169/201, whose ImageNet files load into the builders here; the
two zero paddings keras.applications leaves unnamed are `conv1_pad` and `pool1_pad`.
Everything about the family is in this module.
"""

import dataclasses

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, dense_block, transition_block
from cnnblocks.blocks.densenet import (DENSENET_BN_EPSILON, dense_block_cost,
                                       transition_block_cost)

__all__ = ["DenseNet121", "DenseNet161", "DenseNet169", "DenseNet201"]

#: Layers per dense block, Table 1 of the paper (growth rate k = 32, DenseNet-BC: bottleneck
#: 1x1 convolutions of 4k = 128 filters, compression 0.5 in the transitions). The stem has
#: 2k = 64 filters. Output sizes at 224: dense block 1 56x56, 2 28x28, 3 14x14, 4 7x7.
DENSENET_SPECS = {
    121: (6, 12, 24, 16),
    161: (6, 12, 36, 24),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
}
GROWTH_RATE = 32
#: DenseNet-161 is Table 1's k = 48 network (stem 2k = 96, bottlenecks 4k = 192); no
#: keras.applications model, torchvision's `densenet161`.
GROWTH_RATES = {161: 48}
COMPRESSION = 0.5


def growth_rate(depth):
    """The growth rate `k` of DenseNet-`depth` (32, or 48 for DenseNet-161); its stem has
    `2k` filters."""
    return GROWTH_RATES.get(depth, GROWTH_RATE)

#: The two structures differ only in the BN epsilon: keras.applications' 1.001e-5 and
#: torchvision's 1e-5 (PyTorch's default). Everything else is the same: the 7x7/2 stem and
#: the 3x3/2 max pool pad symmetrically in both (`conv1_pad`, `pool1_pad`), the 3x3
#: convolutions are unstrided, the transitions' 2x2/2 average pools pad nothing, and neither
#: has dropout (torchvision's `drop_rate` is 0).
DENSENET_VARIANTS = {
    fam.KERAS_VARIANT: dict(bn_epsilon=DENSENET_BN_EPSILON),
    fam.TORCHVISION_VARIANT: dict(bn_epsilon=1e-5),
}


def _trunk(depth):
    """Stem (`conv1`: 7x7/2 conv-BN-ReLU; `pool1`: 3x3/2 max pool), dense blocks `conv2` ...
    `conv5` with transitions `pool2` ... `pool4`, and the final BN-ReLU (`post`: `bn`,
    `relu`). Taps: the last trunk layer at each stride: the transitions' 1x1 convolutions
    (`pool2_conv`, `pool3_conv`, `pool4_conv`, before their average pools) and `relu`."""
    growth = growth_rate(depth)

    def body(x, ctx):
        epsilon = DENSENET_VARIANTS[ctx.variant]["bn_epsilon"]
        with identity.region(x, "stem", "conv1", args={"filters": 2 * growth,
                                                       "kernel_size": 7, "strides": 2},
                             label=f"7x7 {2 * growth} /2") as stem:
            x = stem.done(conv_bn_act(x, 2 * growth, 7, strides=2, padding=3,
                                      use_bias=False, bn_epsilon=epsilon,
                                      data_format=ctx.data_format, name="conv1"))
        x = common.max_pool_region(x, "pool1", ctx, pad=1, pool_name="pool1")
        blocks = DENSENET_SPECS[depth]
        for i, n in enumerate(blocks, start=2):
            x = dense_block(x, n, growth, bn_epsilon=epsilon,
                            data_format=ctx.data_format, name=f"conv{i}")
            if i < 5:
                x = transition_block(x, COMPRESSION, bn_epsilon=epsilon,
                                     data_format=ctx.data_format, name=f"pool{i}")
                ctx.tap(f"C{i}", f"pool{i}_conv")
        with identity.region(x, "post_activation", "post", label="BN-ReLU") as post:
            x = layers.BatchNormalization(axis=ctx.axis, epsilon=epsilon,
                                          name="bn")(x)
            x = post.done(layers.Activation("relu", name="relu")(x))
        ctx.tap("C5", x)
        return x
    return body


def _build(depth, **kwargs):
    return common.build(FAMILY.model(f"densenet{depth}"), _trunk(depth), min_size=32,
                        **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of a registered DenseNet
    (`point`, its `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` in
    `variant`'s structure (None: the builders' default, "keras"; "torchvision" differs only in
    the BN epsilon, so costs the same), walked layer by layer as `_trunk` and the head build
    them, without building anything."""
    if variant is not None:
        check.choice(variant, "variant", point.variants)
    depth = int(point.name[len("densenet"):])
    growth = growth_rate(depth)
    tally = cost.Tally(input_shape)
    tally.pad(3)                                                # conv1_pad, _conv, _bn, _relu
    tally.conv(2 * growth, 7, 2)
    tally.bn()
    tally.elementwise()
    tally.pad(1)                                                # pool1_pad, pool1
    tally.pool(3, 2)
    tally.stage("stem")
    for i, n in enumerate(DENSENET_SPECS[depth], start=2):
        dense_block_cost(tally, n, growth)                      # conv{i}
        if i < 5:
            transition_block_cost(tally, COMPRESSION)           # pool{i}
        tally.stage(f"conv{i}")
    tally.bn()                                                  # bn, relu
    tally.elementwise()
    tally.head(include_top, pooling, classes)
    return tally.result()


def _torch_layout(depth):
    """Keras layer -> torchvision module: `features.conv0`/`norm0`; dense layer `j` of block
    `i` is `features.denseblock{i}.denselayer{j}` with `norm1`, `conv1`, `norm2`, `conv2`;
    transition `i` is `features.transition{i}` with `norm`, `conv`; `features.norm5`;
    `classifier`.

    torchvision's published DenseNet files predate PyTorch 0.4 and name a dense layer's
    modules `norm.1`, `conv.1`, `norm.2`, `conv.2` (torchvision renames them when it loads
    them); each such layer lists both names, the first found in the file wins.
    """
    found = {"conv1_conv": "features.conv0", "conv1_bn": "features.norm0",
             "bn": "features.norm5", "predictions": "classifier"}
    parts = (("0_bn", "norm", 1), ("1_conv", "conv", 1), ("1_bn", "norm", 2),
             ("2_conv", "conv", 2))
    for i, layers_in_block in enumerate(DENSENET_SPECS[depth], start=1):
        for j in range(1, layers_in_block + 1):
            theirs = f"features.denseblock{i}.denselayer{j}"
            for ours, module, k in parts:
                found[f"conv{i + 1}_block{j}_{ours}"] = (f"{theirs}.{module}{k}",
                                                          f"{theirs}.{module}.{k}")
        if i < len(DENSENET_SPECS[depth]):
            found[f"pool{i + 1}_bn"] = f"features.transition{i}.norm"
            found[f"pool{i + 1}_conv"] = f"features.transition{i}.conv"
    return fam.TorchLayout(found)


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet121", *, variant="keras"):
    """DenseNet-121 (DenseNet-BC, k = 32): dense blocks of 6, 12, 24, 16 layers.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
    https://arxiv.org/abs/1608.06993, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 64 filters +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1` 3x3/2 max pooling. Then
    `dense_block`s `conv2` ... `conv5` (each layer BN-ReLU-1x1 128, BN-ReLU-3x3 32,
    concatenated: 64 + 6 x 32 = 256, 128 + 12 x 32 = 512, 256 + 24 x 32 = 1024,
    512 + 16 x 32 = 1024 channels) with `transition_block`s `pool2`, `pool3`, `pool4`
    (BN-ReLU-1x1 halving the channels, 2x2/2 average pool) between them, the final `bn` +
    `relu`, and the head `avg_pool` + `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization), `"torchvision"`
            (torchvision's ImageNet weights, with `variant="torchvision"`, converted on load)
            or the path of a weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict
            with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"densenet121"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `densenet121`, which its weights fit: BN epsilon 1e-5 instead of
            1.001e-5, nothing else differs).

    Returns:
        A `keras.Model` with 8,062,504 parameters (7,978,856 trainable) at the defaults
        (1024 feature channels at 1/32 of the input size without a top).

    Note:
        Transitions apply BN-ReLU before their 1x1 convolution (the authors' code and
        keras.applications; the paper's text names BN and the convolution only). The classifier
        is preceded by a final BN-ReLU (`bn`, `relu`), which Table 1 leaves implicit.
        Convolutions have no bias; BN epsilon is 1.001e-5 (1e-5 with
        `variant="torchvision"`, whose trainable parameters equal torchvision's
        `parameters()`). Inputs are expected in torch style (`preprocess_input`: scaled to
        [0, 1], ImageNet mean and std per RGB channel), as torchvision's weights too.

    Note:
        keras.applications refuses the `channels_first` data format for DenseNet; these
        builders accept it (every block takes the channel axis from the data format).

    Example:
        >>> from cnnblocks import DenseNet121
        >>> model = DenseNet121(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1024)
    """
    return _build(121, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def DenseNet161(include_top=True, weights=None, input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet161", *, variant="keras"):
    """DenseNet-161 (DenseNet-BC, k = 48): dense blocks of 6, 12, 36, 24 layers.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
    https://arxiv.org/abs/1608.06993, Table 1 (its k = 48 column); torchvision's `densenet161`
    (keras.applications has no DenseNet-161).

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 96 filters +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1` 3x3/2 max pooling. Then
    `dense_block`s `conv2` ... `conv5` (each layer BN-ReLU-1x1 192, BN-ReLU-3x3 48,
    concatenated: 96 + 6 x 48 = 384, 192 + 12 x 48 = 768, 384 + 36 x 48 = 2112,
    1056 + 24 x 48 = 2208 channels) with `transition_block`s `pool2`, `pool3`, `pool4`
    (BN-ReLU-1x1 halving the channels, 2x2/2 average pool) between them, the final `bn` +
    `relu`, and the head `avg_pool` + `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None (random initialization, the default: keras.applications publishes no
            DenseNet-161), `"torchvision"` (torchvision's ImageNet weights, with
            `variant="torchvision"`; from the Keras cache, checked against the hash in its
            name, downloaded when missing, converted on load) or the path of a weight file
            (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"densenet161"`.
        variant: `"keras"` (keras.applications' conventions of its DenseNets, the default) or
            `"torchvision"` (torchvision's `densenet161`, which its weights fit: BN epsilon
            1e-5 instead of 1.001e-5, nothing else differs).

    Returns:
        A `keras.Model` with 28,900,936 parameters (28,681,000 trainable, torchvision's
        `num_params`) at the defaults (2208 feature channels at 1/32 of the input size
        without a top).

    Note:
        As DenseNet-121: transitions apply BN-ReLU before their 1x1 convolution, a final
        BN-ReLU precedes the classifier, convolutions have no bias, and inputs are expected in
        torch style (`preprocess_input`). The `channels_first` data format is accepted.

    Example:
        >>> from cnnblocks import DenseNet161
        >>> model = DenseNet161(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 2208)
    """
    return _build(161, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet169", *, variant="keras"):
    """DenseNet-169 (DenseNet-BC, k = 32): dense blocks of 6, 12, 32, 32 layers.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
    https://arxiv.org/abs/1608.06993, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 64 filters +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1` 3x3/2 max pooling. Then
    `dense_block`s `conv2` ... `conv5` (each layer BN-ReLU-1x1 128, BN-ReLU-3x3 32,
    concatenated: 64 + 6 x 32 = 256, 128 + 12 x 32 = 512, 256 + 32 x 32 = 1280,
    640 + 32 x 32 = 1664 channels) with `transition_block`s `pool2`, `pool3`, `pool4`
    (BN-ReLU-1x1 halving the channels, 2x2/2 average pool) between them, the final `bn` +
    `relu`, and the head `avg_pool` + `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization), `"torchvision"`
            (torchvision's ImageNet weights, with `variant="torchvision"`, converted on load)
            or the path of a weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict
            with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"densenet169"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `densenet169`, which its weights fit: BN epsilon 1e-5 instead of
            1.001e-5, nothing else differs).

    Returns:
        A `keras.Model` with 14,307,880 parameters (14,149,480 trainable) at the defaults
        (1664 feature channels at 1/32 of the input size without a top).

    Note:
        Transitions apply BN-ReLU before their 1x1 convolution (the authors' code and
        keras.applications; the paper's text names BN and the convolution only). The classifier
        is preceded by a final BN-ReLU (`bn`, `relu`), which Table 1 leaves implicit.
        Convolutions have no bias; BN epsilon is 1.001e-5 (1e-5 with
        `variant="torchvision"`, whose trainable parameters equal torchvision's
        `parameters()`). Inputs are expected in torch style (`preprocess_input`: scaled to
        [0, 1], ImageNet mean and std per RGB channel), as torchvision's weights too.

    Note:
        keras.applications refuses the `channels_first` data format for DenseNet; these
        builders accept it (every block takes the channel axis from the data format).

    Example:
        >>> from cnnblocks import DenseNet169
        >>> model = DenseNet169(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1664)
    """
    return _build(169, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="densenet201", *, variant="keras"):
    """DenseNet-201 (DenseNet-BC, k = 32): dense blocks of 6, 12, 48, 32 layers.

    Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
    https://arxiv.org/abs/1608.06993, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1_conv` 7x7/2 convolution with 64 filters +
    `conv1_bn` + `conv1_relu`, `pool1_pad` (zero padding 1), `pool1` 3x3/2 max pooling. Then
    `dense_block`s `conv2` ... `conv5` (each layer BN-ReLU-1x1 128, BN-ReLU-3x3 32,
    concatenated: 64 + 6 x 32 = 256, 128 + 12 x 32 = 512, 256 + 48 x 32 = 1792,
    896 + 32 x 32 = 1920 channels) with `transition_block`s `pool2`, `pool3`, `pool4`
    (BN-ReLU-1x1 halving the channels, 2x2/2 average pool) between them, the final `bn` +
    `relu`, and the head `avg_pool` + `predictions`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked
            against its hash, downloaded when missing; the default, as in
            keras.applications), None (random initialization), `"torchvision"`
            (torchvision's ImageNet weights, with `variant="torchvision"`, converted on load)
            or the path of a weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict
            with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"densenet201"`.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `densenet201`, which its weights fit: BN epsilon 1e-5 instead of
            1.001e-5, nothing else differs).

    Returns:
        A `keras.Model` with 20,242,984 parameters (20,013,928 trainable) at the defaults
        (1920 feature channels at 1/32 of the input size without a top).

    Note:
        Transitions apply BN-ReLU before their 1x1 convolution (the authors' code and
        keras.applications; the paper's text names BN and the convolution only). The classifier
        is preceded by a final BN-ReLU (`bn`, `relu`), which Table 1 leaves implicit.
        Convolutions have no bias; BN epsilon is 1.001e-5 (1e-5 with
        `variant="torchvision"`, whose trainable parameters equal torchvision's
        `parameters()`). Inputs are expected in torch style (`preprocess_input`: scaled to
        [0, 1], ImageNet mean and std per RGB channel), as torchvision's weights too.

    Note:
        keras.applications refuses the `channels_first` data format for DenseNet; these
        builders accept it (every block takes the channel axis from the data format).

    Example:
        >>> from cnnblocks import DenseNet201
        >>> model = DenseNet201(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 1920)
    """
    return _build(201, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel")


# --- Published numbers ----------------------------------------------------------------------
# keras.applications DenseNet121/169/201 (keras 3.15, weights=None, 1000 classes):
# count_params() / trainable / multiply-adds measured by count_macs on keras.applications
# (published.md). torchvision's densenet121 counts 7,978,856 = keras' trainable (no conv bias,
# BN gamma/beta only). Depth, from Table 1 (the name counts it): conv1 + 2 per dense layer +
# the 3 transitions + the classifier, e.g. 121 = 1 + 2 x (6 + 12 + 24 + 16) + 3 + 1.
_DENSENET = {
    # depth: (total, trainable, MACs)
    121: (8_062_504, 7_978_856, 2_834_000_000),
    169: (14_307_880, 14_149_480, 3_360_000_000),
    201: (20_242_984, 20_013_928, 4_291_000_000),
}
_PAPER = "Huang et al., Densely Connected Convolutional Networks, CVPR 2017"
_TABLE = "Huang et al. 2017, Table 1"


#: DenseNet-161, torchvision's (no keras.applications model): total (trainable + 2 per BN
#: channel, measured here), trainable (torchvision's `num_params`), GFLOPS (its `_ops`).
_DENSENET161 = (28_900_936, 28_681_000, 7.728)


def _table(depth):
    """Table 1's column of DenseNet-`depth` beside its blocks."""
    blocks = DENSENET_SPECS[depth]
    column = f"DenseNet-{depth} (k={growth_rate(depth)})"
    rows = [fam.PaperRow("Convolution", "conv1", "112x112",
                         columns={column: "7x7 conv, stride 2"}),
            fam.PaperRow("Pooling", "pool1", "56x56", columns={column: "3x3 max pool, stride 2"})]
    size = 56
    for i, n in enumerate(blocks, start=1):
        rows.append(fam.PaperRow(f"Dense Block ({i})", f"conv{i + 1}", f"{size}x{size}",
                                 columns={column: f"[1x1 conv, 3x3 conv] x {n}"}))
        if i < 4:
            rows.append(fam.PaperRow(f"Transition Layer ({i})", f"pool{i + 1}",
                                     f"{size // 2}x{size // 2}",
                                     columns={column: "1x1 conv; 2x2 average pool, stride 2"}))
            size //= 2
    rows.append(fam.PaperRow("Classification Layer", "post|head", "1x1",
                             columns={column: "7x7 global average pool; 1000D fully-connected, "
                                              "softmax"}))
    return tuple(rows)


def _reference(depth):
    if depth == 161:
        total, trainable, gflops = _DENSENET161
        reference = fam.torchvision_reference(
            "densenet161", paper=_PAPER, total=total, trainable=trainable, depth=depth,
            depth_source=_TABLE + " (the name; comment in this module)", gflops=gflops)
        return dataclasses.replace(reference, table=_table(depth), table_source=_TABLE)
    total, trainable, macs = _DENSENET[depth]
    keras_name = f"DenseNet{depth}"
    return fam.Reference(
        paper=_PAPER,
        input_shape=(224, 224, 3),
        params=fam.exact(total, fam.KERAS.format(keras_name), fam.KERAS_PARAMS),
        trainable_params=fam.exact(trainable, fam.KERAS.format(keras_name), fam.TRAINABLE),
        depth=fam.exact(depth, _TABLE + " (the name; comment in this module)", fam.DEPTH),
        macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name)),
        table=_table(depth),
        table_source=_TABLE,
        others=((("torchvision densenet121 params (= Keras trainable)",
                  fam.exact(7_978_856, fam.TORCHVISION.format("densenet121"))),)
                if depth == 121 else ()),
    )


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
#: keras.applications' ImageNet files (densenet.py, Keras 3.15): (with top, no top) MD5s.
_MD5 = {121: ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
        169: ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
        201: ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1")}


def _weight_files(depth):
    stem = f"{_BASE}densenet{depth}_weights_tf_dim_ordering_tf_kernels"
    return (fam.WeightFile(stem + ".h5", _MD5[depth][0]),
            fam.WeightFile(stem + "_notop.h5", _MD5[depth][1]))


#: torchvision's ImageNet weights (torchvision/models/densenet.py, `DenseNet{d}_Weights.
#: IMAGENET1K_V1`, torchvision 0.28; ported from LuaTorch): file (its name carries the SHA-256
#: prefix torch hub checks), acc@1, acc@5, num_params, _file_size (MB); crop 224, resize 256,
#: bilinear.
_TORCHVISION = {
    121: ("densenet121-a639ec97.pth", 74.434, 91.972, 7_978_856, 30.845),
    161: ("densenet161-8d451a50.pth", 77.138, 93.560, 28_681_000, 110.369),
    169: ("densenet169-b2777c0a.pth", 75.600, 92.806, 14_149_480, 54.708),
    201: ("densenet201-c1103571.pth", 76.896, 93.370, 20_013_928, 77.373),
}


def _pretrained(depth):
    filename, top1, top5, params, size = _TORCHVISION[depth]
    return {"torchvision": fam.torchvision_weights(
        filename, f"DenseNet{depth}_Weights.IMAGENET1K_V1", top1=top1, top5=top5,
        num_params=params, file_size_mb=size)}


FAMILY = fam.Family(
    name="densenet",
    title="DenseNet",
    paper=_PAPER,
    url="https://arxiv.org/abs/1608.06993",
    models=(
        fam.ModelEntry(name="densenet121", title="DenseNet-121", builder=DenseNet121,
                       default_size=224, imagenet=_weight_files(121), reference=_reference(121),
                       keras_name="DenseNet121", variants=tuple(DENSENET_VARIANTS),
                       pretrained=_pretrained(121), torch_layout=_torch_layout(121)),
        fam.ModelEntry(name="densenet161", title="DenseNet-161", builder=DenseNet161,
                       default_size=224, reference=_reference(161),
                       variants=tuple(DENSENET_VARIANTS), pretrained=_pretrained(161),
                       torch_layout=_torch_layout(161)),
        fam.ModelEntry(name="densenet169", title="DenseNet-169", builder=DenseNet169,
                       default_size=224, imagenet=_weight_files(169), reference=_reference(169),
                       keras_name="DenseNet169", variants=tuple(DENSENET_VARIANTS),
                       pretrained=_pretrained(169), torch_layout=_torch_layout(169)),
        fam.ModelEntry(name="densenet201", title="DenseNet-201", builder=DenseNet201,
                       default_size=224, imagenet=_weight_files(201), reference=_reference(201),
                       keras_name="DenseNet201", variants=tuple(DENSENET_VARIANTS),
                       pretrained=_pretrained(201), torch_layout=_torch_layout(201)),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act", "dense_block", "transition_block"),
    estimate=estimate,
)
