"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, https://arxiv.org/abs/1409.1556), configurations A, B, D and E.

Layer names, parameter counts and weight order equal keras.applications' VGG16/VGG19, whose
ImageNet files load into VGG16/VGG19 here.
"""

from keras import layers

from cnnblocks.architectures import common
from cnnblocks.blocks import vgg_block

#: Convolutions per block (blocks 1-5 have 64, 128, 256, 512, 512 filters), Table 1 of the paper.
#: Configuration C (1x1 convolutions) and A-LRN are not built.
VGG_SPECS = {
    11: (1, 1, 2, 2, 2),  # A
    13: (2, 2, 2, 2, 2),  # B
    16: (2, 2, 3, 3, 3),  # D
    19: (2, 2, 4, 4, 4),  # E
}
VGG_WIDTHS = (64, 128, 256, 512, 512)


def _vgg(depth, *, include_top, weights, input_tensor, input_shape, pooling, classes,
         classifier_activation, name):
    classes = common.check_builder_args(
        include_top=include_top, weights=weights, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation,
        weights_key=f"vgg{depth}")
    inputs, x, data_format, _ = common.model_input(
        input_tensor, input_shape, default_size=224, min_size=32, include_top=include_top,
        weights=weights, weights_key=f"vgg{depth}")
    for i, (convs, width) in enumerate(zip(VGG_SPECS[depth], VGG_WIDTHS), start=1):
        x = vgg_block(x, width, convs, data_format=data_format, name=f"block{i}")
    if include_top:
        x = layers.Flatten(data_format=data_format, name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = common.classifier(x, include_top=False, pooling=pooling, classes=classes,
                              classifier_activation=None, data_format=data_format)
    return common.finish(inputs, x, name=name, weights=weights, weights_key=f"vgg{depth}",
                         include_top=include_top)


_DOC = """VGG{depth} (configuration {config} of the paper).

    Five VGG blocks ({convs} convolutions of 64, 128, 256, 512, 512 filters, each block ending
    in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names as
    keras.applications (`block1_conv1` ... `block5_pool`, `flatten`, `fc1`, `fc2`,
    `predictions`).

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None, `"imagenet"` ({imagenet}) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg{depth}"`.

    Returns:
        A `keras.Model` with {params} parameters at the defaults.

    Note:
        As in keras.applications, the paper's test-time dense evaluation (FC layers converted to
        convolutions) is not built, and inputs are expected preprocessed with
        `cnnblocks.architectures.vgg.preprocess_input` (Caffe-style BGR mean subtraction).

    Example:
        >>> from cnnblocks import VGG{depth}
        >>> model = VGG{depth}(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """


def _builder(depth, config, params):
    def build(include_top=True, weights=None, input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=f"vgg{depth}"):
        return _vgg(depth, include_top=include_top, weights=weights, input_tensor=input_tensor,
                    input_shape=input_shape, pooling=pooling, classes=classes,
                    classifier_activation=classifier_activation, name=name)
    build.__name__ = build.__qualname__ = f"VGG{depth}"
    imagenet = ("keras.applications' file" if f"vgg{depth}" in common.weight_files.IMAGENET
                else "not published for this configuration")
    build.__doc__ = _DOC.format(depth=depth, config=config, params=params, imagenet=imagenet,
                                convs="+".join(map(str, VGG_SPECS[depth])))
    return build


VGG11 = _builder(11, "A", "132,863,336")
VGG13 = _builder(13, "B", "133,047,848")
VGG16 = _builder(16, "D", "138,357,544")
VGG19 = _builder(19, "E", "143,667,240")

MODELS = {"vgg11": VGG11, "vgg13": VGG13, "vgg16": VGG16, "vgg19": VGG19}


preprocess_input, decode_predictions = common.keras_imagenet_utils(
    "vgg16", "RGB to BGR, ImageNet mean subtracted (Caffe style)")
