"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017,
https://arxiv.org/abs/1610.02357).

The network is a stem of two plain convolutions, twelve `xception_module`s (entry, middle and
exit flows of the paper's Figure 5) and two post-activated separable convolutions. Layer names,
parameter counts and weight order equal keras.applications' Xception, whose ImageNet files load
into `Xception` here; only the four projection shortcuts, which keras.applications leaves
unnamed (`conv2d`, `batch_normalization`, `add`, ...), carry names of their own
(`block2_0_conv`, `block2_0_bn`, `block2_add`, ...).
"""

from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, xception_module

#: The stem: (name, filters, strides) of the 3x3 "valid" convolutions (no bias) - BN - ReLU,
#: 299x299x3 -> 147x147x64. Paper Figure 5, entry flow; names as keras.applications.
XCEPTION_STEM = (
    ("block1_conv1", 32, 2),  # 149x149x32
    ("block1_conv2", 64, 1),  # 147x147x64
)

#: Xception flows as a list of block rows: (name, separable widths, pool, activate_first).
#: Every module is ReLU-SeparableConv3x3-BN per width, with a residual connection: a 1x1/2
#: projection when `pool` (3x3/2 max pool, "same"), the identity otherwise. Paper Figure 5.
XCEPTION_FLOWS = (
    # entry flow, 147x147x64 -> 19x19x728
    ("block2", (128, 128), True, False),  # 74x74x128; the stem's ReLU already ran
    ("block3", (256, 256), True, True),  # 37x37x256
    ("block4", (728, 728), True, True),  # 19x19x728 (18x18 in the paper's figure)
    # middle flow, repeated eight times, 19x19x728
    *((f"block{i}", (728, 728, 728), False, True) for i in range(5, 13)),
    # exit flow, 19x19x728 -> 10x10x1024
    ("block13", (728, 1024), True, True),
)

#: After the exit-flow module: (name, filters) of the SeparableConv3x3 - BN - ReLU units
#: (activation after, unlike the modules), 10x10x1024 -> 10x10x2048. Paper Figure 5.
XCEPTION_HEAD = (
    ("block14_sepconv1", 1536),
    ("block14_sepconv2", 2048),
)


def Xception(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    """Xception, the ImageNet network of the paper (36 convolutional layers in 14 modules).

    Reference: Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions",
    CVPR 2017, https://arxiv.org/abs/1610.02357 (Figure 5). The structure is the data in
    `XCEPTION_STEM`, `XCEPTION_FLOWS` and `XCEPTION_HEAD`.

    Args:
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: None (random initialization), `"imagenet"` (keras.applications' file) or the
            path of a weight file (keras.applications' legacy HDF5 layout, `.weights.h5` or
            `.keras`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 71x71; must be static with a top, and
            (299, 299, 3) with a top and ImageNet weights. Default (299, 299, 3) with a top,
            (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"xception"`.

    Returns:
        A `keras.Model`: 22,910,480 parameters (22,855,952 trainable, the paper's Table 3
        count) with the top, 20,861,480 without. The feature map (`block14_sepconv2_act`) has
        2048 channels, 10x10 at 299 (3x3 at 71).

    Note:
        - The grid after the entry flow is 19x19 (as keras.applications and the released
          model: the 3x3/2 max pools pad "same"); the paper's figure shows 18x18.
        - Every convolution is followed by batch normalization (epsilon 1e-3) and has no
          bias, as in the paper's text and keras.applications.
        - Inputs are expected in [-1, 1]: use `cnnblocks.architectures.xception.preprocess_input`.

    Example:
        >>> from cnnblocks import Xception
        >>> model = Xception(include_top=False, input_shape=(71, 71, 3))
        >>> tuple(model.output.shape)
        (None, 3, 3, 2048)
    """
    classes = common.check_builder_args(
        include_top=include_top, weights=weights, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, weights_key="xception")
    inputs, x, data_format, _ = common.model_input(
        input_tensor, input_shape, default_size=299, min_size=71, include_top=include_top,
        weights=weights, weights_key="xception")
    for layer, filters, strides in XCEPTION_STEM:
        x = conv_bn_act(x, filters, 3, strides=strides, padding="valid", use_bias=False,
                        data_format=data_format, name=layer, suffixes=("", "_bn", "_act"))
    for block, widths, pool, activate_first in XCEPTION_FLOWS:
        x = xception_module(x, widths, pool=pool, activate_first=activate_first,
                            data_format=data_format, name=block)
    for layer, filters in XCEPTION_HEAD:
        x = conv_bn_act(x, filters, 3, use_bias=False, separable=True, data_format=data_format,
                        name=layer, suffixes=("", "_bn", "_act"))
    x = common.classifier(x, include_top=include_top, pooling=pooling, classes=classes,
                          classifier_activation=classifier_activation, data_format=data_format)
    return common.finish(inputs, x, name=name, weights=weights, weights_key="xception",
                         include_top=include_top)


MODELS = {"xception": Xception}


preprocess_input, decode_predictions = common.keras_imagenet_utils(
    "xception", "pixels in [0, 255] scaled to [-1, 1]")
