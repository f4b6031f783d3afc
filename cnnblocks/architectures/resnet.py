"""ResNet v1 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
https://arxiv.org/abs/1512.03385): ResNet-18/34 (basic modules) and ResNet-50/101/152 (bottleneck
modules), Table 1 of the paper.

Layer names, parameter counts and weight order equal keras.applications' ResNet50/101/152, whose
ImageNet files load into ResNet50/101/152 here. ResNet-18/34 use the same name grammar
(`conv1_*`, `pool1_*`, `conv2_block1_1_conv`, ..., `conv5_block2_out`, `avg_pool`, `predictions`).
"""

from keras import layers

from cnnblocks.architectures import common
from cnnblocks.blocks import bottleneck_module, conv_bn_act, residual_module
from cnnblocks.blocks.residual import RESNET_BN_EPSILON

#: Module kind and modules per stage (conv2_x, conv3_x, conv4_x, conv5_x), Table 1 of the paper.
#: The first module of stages 3-5 has stride 2; a 1x1 projection shortcut (option B) is used
#: wherever a module changes the shape ("auto"): for bottlenecks the first module of every stage
#: (conv2_block1 widens 64 to 256), for basic modules the first module of stages 3-5.
RESNET_SPECS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
#: Filters of the 3x3 convolutions per stage (a bottleneck's output has 4x as many channels).
RESNET_WIDTHS = (64, 128, 256, 512)
_MODULES = {"basic": residual_module, "bottleneck": bottleneck_module}


def _stem(x, data_format):
    """conv1 (7x7/2, 64, bias, BN, ReLU) and the 3x3/2 max pool, with explicit zero padding."""
    x = layers.ZeroPadding2D(3, data_format=data_format, name="conv1_pad")(x)
    x = conv_bn_act(x, 64, 7, strides=2, padding="valid", bn_epsilon=RESNET_BN_EPSILON,
                    data_format=data_format, name="conv1")
    x = layers.ZeroPadding2D(1, data_format=data_format, name="pool1_pad")(x)
    return layers.MaxPooling2D(3, strides=2, data_format=data_format, name="pool1_pool")(x)


def _resnet(depth, *, include_top, weights, input_tensor, input_shape, pooling, classes,
            classifier_activation, name):
    key = f"resnet{depth}"
    classes = common.check_builder_args(
        include_top=include_top, weights=weights, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation,
        weights_key=key)
    inputs, x, data_format, _ = common.model_input(
        input_tensor, input_shape, default_size=224, min_size=32, include_top=include_top,
        weights=weights, weights_key=key)
    x = _stem(x, data_format)
    kind, stages = RESNET_SPECS[depth]
    module = _MODULES[kind]
    for stage, (blocks, width) in enumerate(zip(stages, RESNET_WIDTHS), start=2):
        for block in range(1, blocks + 1):
            strides = 2 if block == 1 and stage > 2 else 1
            x = module(x, width, strides=strides, data_format=data_format,
                       name=f"conv{stage}_block{block}")
    x = common.classifier(x, include_top=include_top, pooling=pooling, classes=classes,
                          classifier_activation=classifier_activation, data_format=data_format)
    return common.finish(inputs, x, name=name, weights=weights, weights_key=key,
                         include_top=include_top)


_V1_NOTE = """Version 1, as the paper and keras.applications: in a bottleneck module the stride-2
        sits on the first 1x1 convolution. torchvision's "v1.5" moves it to the 3x3
        convolution: same parameters, more multiply-adds (ResNet-50: 3.858 G here vs 4.089 G),
        slightly better accuracy; its weights belong to that variant (and have no conv
        biases), so they do not transfer as they are."""
_BASIC_NOTE = """The stride-2 of a basic module sits on its first 3x3 convolution and on the
        projection, as in the paper and torchvision (ResNet-18/34 have no v1/v1.5 split).
        keras.applications has no ResNet-18/34: the names follow its grammar, and no ImageNet
        file in its format exists."""

_DOC = """ResNet-{depth} v1 ({kind} modules, {blocks} per stage).

    He et al., "Deep Residual Learning for Image Recognition", CVPR 2016,
    https://arxiv.org/abs/1512.03385, Table 1.

    Stem: `conv1_pad` (zero padding 3), `conv1` 7x7/2 convolution with 64 filters + BN + ReLU,
    `pool1_pad` (zero padding 1), `pool1_pool` 3x3/2 max pooling. Then four stages `conv2_x`
    ... `conv5_x` of {kind} modules with 64, 128, 256, 512 filters{expansion}; the first
    module of stages 3-5 halves the resolution. Head: global average pooling `avg_pool` and
    `predictions`. Layer names {names}: `conv1_conv`,
    `conv2_block1_1_conv`, ..., `conv5_block{last}_out`.

    Args:
        include_top: bool, add the global average pooling and the classifier. Default True.
        weights: None, `"imagenet"` or the path of a weight file. ImageNet weights:
            {imagenet}.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"resnet{depth}"`.

    Returns:
        A `keras.Model` with {params} parameters at the defaults ({channels} feature channels
        at 1/32 of the input size without a top).

    Note:
        {stride_note}

    Note:
        As keras.applications, every convolution has a bias even where BatchNormalization
        follows it (the released Caffe models have none): 1 extra parameter per output channel,
        redundant with BN's beta. BN epsilon is 1.001e-5. Shortcuts are identities except
        where the shape changes, which get a 1x1 projection + BN (the paper's option B).

    Example:
        >>> from cnnblocks import ResNet{depth}
        >>> model = ResNet{depth}(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, {channels})
    """


def _builder(depth, params):
    def build(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=f"resnet{depth}"):
        return _resnet(depth, include_top=include_top, weights=weights,
                       input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                       classes=classes, classifier_activation=classifier_activation, name=name)
    kind, stages = RESNET_SPECS[depth]
    bottleneck = kind == "bottleneck"
    build.__name__ = build.__qualname__ = f"ResNet{depth}"
    imagenet = ("keras.applications' file" if f"resnet{depth}" in common.weight_files.IMAGENET
                else "none in keras.applications' format, refused")
    build.__doc__ = _DOC.format(
        depth=depth, kind=kind, blocks="+".join(map(str, stages)), last=stages[-1],
        params=params, imagenet=imagenet, channels=2048 if bottleneck else 512,
        expansion=" (x4 out)" if bottleneck else "",
        names="as keras.applications" if bottleneck else "in keras.applications' grammar",
        stride_note=_V1_NOTE if bottleneck else _BASIC_NOTE)
    return build


ResNet18 = _builder(18, "11,703,912")
ResNet34 = _builder(34, "21,823,208")
ResNet50 = _builder(50, "25,636,712")
ResNet101 = _builder(101, "44,707,176")
ResNet152 = _builder(152, "60,419,944")

MODELS = {"resnet18": ResNet18, "resnet34": ResNet34, "resnet50": ResNet50,
          "resnet101": ResNet101, "resnet152": ResNet152}


preprocess_input, decode_predictions = common.keras_imagenet_utils(
    "resnet", "RGB to BGR, ImageNet mean subtracted (Caffe style)")
