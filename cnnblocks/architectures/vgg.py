"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, https://arxiv.org/abs/1409.1556), configurations A, B, D and E.

Layer names, parameter counts and weight order equal keras.applications' VGG16/VGG19, whose
ImageNet files load into VGG16/VGG19 here. Everything about the family is in this module: the
spec table, the builders, the weight files, the preprocessing and the published numbers.
"""

from keras import layers

from cnnblocks import family as fam
from cnnblocks import preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import vgg_block

__all__ = ["VGG11", "VGG13", "VGG16", "VGG19"]

#: Convolutions per block (blocks 1-5 have 64, 128, 256, 512, 512 filters), Table 1 of the paper.
#: Configuration C (1x1 convolutions) and A-LRN are not built.
VGG_SPECS = {
    11: (1, 1, 2, 2, 2),  # A
    13: (2, 2, 2, 2, 2),  # B
    16: (2, 2, 3, 3, 3),  # D
    19: (2, 2, 4, 4, 4),  # E
}
VGG_WIDTHS = (64, 128, 256, 512, 512)


def _trunk(depth):
    """Five VGG blocks; the taps are the last convolution before each pool (C2-C4) and the
    last pool (C5)."""
    def body(x, ctx):
        convs = VGG_SPECS[depth]
        for i, (n, width) in enumerate(zip(convs, VGG_WIDTHS), start=1):
            x = vgg_block(x, width, n, data_format=ctx.data_format, name=f"block{i}")
        for stage, block in (("C2", 3), ("C3", 4), ("C4", 5)):
            ctx.tap(stage, f"block{block}_conv{convs[block - 1]}")
        ctx.tap("C5", x)
        return x
    return body


def _head(x, ctx):
    """`flatten`, `fc1` and `fc2` (4096, ReLU) and `predictions`; global pooling without."""
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    x = layers.Flatten(data_format=ctx.data_format, name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc1")(x)
    x = layers.Dense(4096, activation="relu", name="fc2")(x)
    return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                        name="predictions")(x)


def _build(depth, **kwargs):
    return common.build(FAMILY.model(f"vgg{depth}"), _trunk(depth), head=_head, min_size=32,
                        **kwargs)


def VGG11(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg11"):
    """VGG-11, configuration A of the paper (8 convolutions + 3 fully connected layers).

    Five VGG blocks of 1, 1, 2, 2, 2 convolutions (64, 128, 256, 512, 512 filters, 3x3, each
    block ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names
    in keras.applications' grammar (`block1_conv1` ... `block5_pool`, `flatten`, `fc1`, `fc2`,
    `predictions`).

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization) or the path of a weight file. No ImageNet file
            in keras.applications' format exists for VGG-11, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg11"`.

    Returns:
        A `keras.Model` with 132,863,336 parameters at the defaults.

    Note:
        As in keras.applications, the paper's test-time dense evaluation (fully connected
        layers turned into convolutions) is not built; inputs are expected preprocessed with
        `cnnblocks.architectures.vgg.preprocess_input` (Caffe style: BGR, mean subtracted).

    Example:
        >>> from cnnblocks import VGG11
        >>> model = VGG11(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(11, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def VGG13(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg13"):
    """VGG-13, configuration B of the paper (10 convolutions + 3 fully connected layers).

    Five VGG blocks of 2 convolutions each (64, 128, 256, 512, 512 filters, 3x3, each block
    ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names in
    keras.applications' grammar.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization) or the path of a weight file. No ImageNet file
            in keras.applications' format exists for VGG-13, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg13"`.

    Returns:
        A `keras.Model` with 133,047,848 parameters at the defaults (torchvision's vgg13).

    Note:
        As VGG11: no dense evaluation; Caffe-style preprocessing.

    Example:
        >>> from cnnblocks import VGG13
        >>> model = VGG13(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(13, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """VGG-16, configuration D of the paper (13 convolutions + 3 fully connected layers).

    Five VGG blocks of 2, 2, 3, 3, 3 convolutions (64, 128, 256, 512, 512 filters, 3x3, each
    block ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names,
    parameters and weight order equal keras.applications' VGG16.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg16"`.

    Returns:
        A `keras.Model` with 138,357,544 parameters at the defaults.

    Note:
        As in keras.applications, the paper's test-time dense evaluation is not built; inputs
        are expected preprocessed with `cnnblocks.architectures.vgg.preprocess_input`.

    Example:
        >>> from cnnblocks import VGG16
        >>> model = VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(16, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """VGG-19, configuration E of the paper (16 convolutions + 3 fully connected layers).

    Five VGG blocks of 2, 2, 4, 4, 4 convolutions (64, 128, 256, 512, 512 filters, 3x3, each
    block ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names,
    parameters and weight order equal keras.applications' VGG19.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: `"imagenet"` (keras.applications' file; the default, as in
            keras.applications), None (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg19"`.

    Returns:
        A `keras.Model` with 143,667,240 parameters at the defaults.

    Note:
        As VGG16: no dense evaluation; Caffe-style preprocessing.

    Example:
        >>> from cnnblocks import VGG19
        >>> model = VGG19(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(19, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "caffe", "RGB to BGR, ImageNet mean (103.939, 116.779, 123.68) subtracted (Caffe style)")


# --- Published numbers ----------------------------------------------------------------------
VGG_PAPER = "Simonyan & Zisserman 2015, Table 2 (parameters in millions)"
# Configurations (Table 1): widths and convs per block; every block ends in a 2x2/2 max pool;
# head FC-4096, FC-4096, FC-1000. Keras-style counts (conv and dense biases, no BN).
# VGG11 (A) and VGG13 (B) keras-convention totals are computed from the configurations:
#   params = sum over convs (9 c_in + 1) c_out + (25088 + 1) 4096 + (4096 + 1) 4096
#            + (4096 + 1) 1000, head = 123,642,856:
#   A: convs 9,220,480 -> 132,863,336; B: convs 9,404,992 -> 133,047,848 (= torchvision vgg13).
# Multiply-adds (derived): sum over convs H W 9 c_in c_out + head 25088*4096 + 4096*4096 +
#   4096*1000 = 123,633,664:
#   A: 224^2*9*3*64 + 112^2*9*64*128 + 56^2*9*(128*256 + 256*256) + 28^2*9*(256*512 + 512^2)
#      + 14^2*9*2*512^2 = 7,485,456,384 -> 7,609,090,048;
#   B: the same with the second conv of blocks 1 and 2 -> 11,308,466,176.
_PUBLISHED = {
    # depth: (Table 2 column, params, params source, MACs figure, Table 2 params in millions)
    11: ("A", 132_863_336, "computed from configuration A, Keras-style",
         fam.Figure(7_609_090_048, "derived from configuration A (comment above)", fam.MACS,
                    0.005), 133),
    13: ("B", 133_047_848, "computed from configuration B, Keras-style (= torchvision vgg13)",
         fam.Figure(11_308_466_176, "derived from configuration B (comment above)", fam.MACS,
                    0.005), 133),
    16: ("D", 138_357_544, fam.KERAS.format("VGG16"),
         fam.measured_macs(15_470_000_000, fam.KERAS_MACS.format("VGG16") +
                           "; torchvision meta 15.47 G"), 138),
    19: ("E", 143_667_240, fam.KERAS.format("VGG19"),
         fam.measured_macs(19_630_000_000, fam.TORCHVISION.format("vgg19: 19.63 GFLOPS") +
                           "; He et al. 2015 quote 19.6e9"), 144),
}


def _reference(depth):
    column, params, source, macs, millions = _PUBLISHED[depth]
    rows = []
    for i, (convs, width) in enumerate(zip(VGG_SPECS[depth], VGG_WIDTHS), start=1):
        size = 224 >> i
        rows.append(fam.PaperRow(f"block {i}: conv3-{width} x{convs}, maxpool", f"block{i}",
                                 f"{size}x{size}x{width}",
                                 columns={"convs": convs, "filters": width}))
    rows.append(fam.PaperRow("FC-4096, FC-4096, FC-1000, soft-max", "head", "1000"))
    rows.append(fam.PaperRow(f"configuration {column} (total)", None,
                             params=fam.rounded(millions * 1_000_000, 500_000, VGG_PAPER,
                                                "parameters, millions")))
    return fam.Reference(
        paper="Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
              "Recognition, ICLR 2015",
        input_shape=(224, 224, 3),
        params=fam.exact(params, source, "conv and dense biases, no BN"),
        trainable_params=fam.exact(params, source, "all parameters trainable"),
        depth=fam.exact(depth, f"the name: {depth} weight layers (configuration {column})",
                        fam.DEPTH),
        macs=macs,
        table=tuple(rows),
        table_source=f"Simonyan & Zisserman 2015, Table 1 (configuration {column}) and "
                     "Table 2",
    )


_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"
#: keras.applications' ImageNet files (vgg16.py, vgg19.py, Keras 3.15): (with top, no top).
_IMAGENET = {
    16: (fam.WeightFile(_BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                        "64373286793e3c8b2b4e3219cbf3544b"),
         fam.WeightFile(_BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                        "6d6bbae143d832006294945121d1f1fc")),
    19: (fam.WeightFile(_BASE + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                        "cbe5617147190e668d6c5d5026f83318"),
         fam.WeightFile(_BASE + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                        "253f8cb515780f3b799900260a226db6")),
}

FAMILY = fam.Family(
    name="vgg",
    title="VGG",
    paper="Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image "
          "Recognition, ICLR 2015",
    url="https://arxiv.org/abs/1409.1556",
    models=(
        fam.ModelEntry(name="vgg11", title="VGG-11", builder=VGG11, default_size=224,
                       reference=_reference(11)),
        fam.ModelEntry(name="vgg13", title="VGG-13", builder=VGG13, default_size=224,
                       reference=_reference(13)),
        fam.ModelEntry(name="vgg16", title="VGG-16", builder=VGG16, default_size=224,
                       imagenet=_IMAGENET[16], reference=_reference(16), keras_name="VGG16"),
        fam.ModelEntry(name="vgg19", title="VGG-19", builder=VGG19, default_size=224,
                       imagenet=_IMAGENET[19], reference=_reference(19), keras_name="VGG19"),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="caffe: RGB to BGR, ImageNet mean subtracted, no scaling",
    blocks=("vgg_block",),
)
