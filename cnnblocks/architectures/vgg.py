"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015, https://arxiv.org/abs/1409.1556), configurations A, B, D and E, and
their batch-normalized versions (torchvision's `vgg11_bn` ...).

Layer names, parameter counts and weight order equal keras.applications' VGG16/VGG19, whose
ImageNet files load into VGG16/VGG19 here. `variant="torchvision"` gives torchvision's head
(adaptive 7x7 average pool, dropout), which its ImageNet weights fit. Everything about the
family is in this module: the spec table, the builders, the weight files, the preprocessing
and the published numbers.
"""

import dataclasses

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import vgg_block
from cnnblocks.blocks.vgg import vgg_block_cost
from cnnblocks.layers import AdaptiveAveragePooling2D

__all__ = ["VGG11", "VGG13", "VGG16", "VGG19", "VGG11BN", "VGG13BN", "VGG16BN", "VGG19BN"]

#: Convolutions per block (blocks 1-5 have 64, 128, 256, 512, 512 filters), Table 1 of the paper.
#: Configuration C (1x1 convolutions) and A-LRN are not built.
VGG_SPECS = {
    11: (1, 1, 2, 2, 2),  # A
    13: (2, 2, 2, 2, 2),  # B
    16: (2, 2, 3, 3, 3),  # D
    19: (2, 2, 4, 4, 4),  # E
}
VGG_WIDTHS = (64, 128, 256, 512, 512)


#: The classifier's dropout rate in torchvision's VGG (after fc1 and fc2).
TORCHVISION_DROPOUT = 0.5


def _trunk(depth, batch_norm):
    """Five VGG blocks; the taps are the last activation before each pool (C2-C4) and the
    last pool (C5)."""
    def body(x, ctx):
        convs = VGG_SPECS[depth]
        for i, (n, width) in enumerate(zip(convs, VGG_WIDTHS), start=1):
            x = vgg_block(x, width, n, batch_norm=batch_norm, data_format=ctx.data_format,
                          name=f"block{i}")
        last = "_relu" if batch_norm else ""
        for stage, block in (("C2", 3), ("C3", 4), ("C4", 5)):
            ctx.tap(stage, f"block{block}_conv{convs[block - 1]}{last}")
        ctx.tap("C5", x)
        return x
    return body


def _head(x, ctx):
    """`flatten`, `fc1` and `fc2` (4096, ReLU) and `predictions`; global pooling without.

    torchvision's head (`variant="torchvision"`) starts with `avg_pool`, an adaptive average
    pool to 7x7 (the identity at 224x224; other sizes keep the classifier's 25,088 inputs),
    and has `fc1_dropout` and `fc2_dropout` (50%) after fc1 and fc2.
    """
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    torchvision = ctx.variant == fam.TORCHVISION_VARIANT
    if torchvision:
        x = AdaptiveAveragePooling2D(7, data_format=ctx.data_format, name="avg_pool")(x)
    x = layers.Flatten(data_format=ctx.data_format, name="flatten")(x)
    for fc in ("fc1", "fc2"):
        x = layers.Dense(4096, activation="relu", name=fc)(x)
        if torchvision:
            x = layers.Dropout(TORCHVISION_DROPOUT, name=f"{fc}_dropout")(x)
    return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                        name="predictions")(x)


def _build(depth, batch_norm=False, **kwargs):
    name = f"vgg{depth}_bn" if batch_norm else f"vgg{depth}"
    return common.build(FAMILY.model(name), _trunk(depth, batch_norm), head=_head, min_size=32,
                        **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered model `point`
    (a `ModelEntry`: `vgg16`, `vgg16_bn`, ...; `cnnblocks.cost.Estimate`) at `input_shape`
    `(h, w, 3)` in `variant`'s structure (None: the builders' default, "keras"; "torchvision"
    adds the adaptive 7x7 average pool and the two dropouts of the head), walked layer by
    layer as `_trunk` and `_head` build them, without building anything."""
    variant = point.variants[0] if variant is None else check.choice(
        variant, "variant", point.variants)
    depth, batch_norm = int(point.name[3:5]), point.name.endswith("_bn")
    tally = cost.Tally(input_shape)
    for i, (convs, width) in enumerate(zip(VGG_SPECS[depth], VGG_WIDTHS), start=1):
        vgg_block_cost(tally, width, convs, batch_norm=batch_norm)
        tally.stage(f"block{i}")
    torchvision = variant == fam.TORCHVISION_VARIANT
    if include_top:
        if torchvision:
            tally.adaptive_pool(7)                              # avg_pool
        tally.flatten()                                         # flatten
        for _ in ("fc1", "fc2"):
            tally.dense(4096)                                   # fc1, fc2 (ReLU fused)
            if torchvision:
                tally.elementwise()                             # fc1_dropout, fc2_dropout
        tally.dense(classes)                                    # predictions
    elif pooling is not None:
        tally.global_pool()                                     # avg_pool or max_pool
    return tally.result()


def _torch_layout(depth, batch_norm):
    """Keras layer -> torchvision module: `features.{i}` in the order of torchvision's
    `make_layers` (conv, [BN,] ReLU per convolution, one max pool per block), the classifier
    `classifier.0/3/6`; timm's VGG (`pre_logits.fc1` is a 7x7 convolution, `pre_logits.fc2`
    a 1x1, `head.fc`) as the second choice. fc1 follows `flatten`."""
    found, index = {}, 0
    for block, convs in enumerate(VGG_SPECS[depth], start=1):
        for conv in range(1, convs + 1):
            found[f"block{block}_conv{conv}"] = f"features.{index}"
            if batch_norm:
                found[f"block{block}_conv{conv}_bn"] = f"features.{index + 1}"
            index += 3 if batch_norm else 2
        index += 1  # the max pool
    found.update(fc1=("classifier.0", "pre_logits.fc1"), fc2=("classifier.3", "pre_logits.fc2"),
                 predictions=("classifier.6", "head.fc"))
    return fam.TorchLayout(found, flatten={"fc1": "flatten"})


def VGG11(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg11", *, variant="keras"):
    """VGG-11, configuration A of the paper (8 convolutions + 3 fully connected layers).

    Five VGG blocks of 1, 1, 2, 2, 2 convolutions (64, 128, 256, 512, 512 filters, 3x3, each
    block ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names
    in keras.applications' grammar (`block1_conv1` ... `block5_pool`, `flatten`, `fc1`, `fc2`,
    `predictions`).

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`, converted on load) or the path of a weight
            file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`). No ImageNet file in keras.applications' format exists for
            VGG-11, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg11"`.
        variant: `"keras"` (keras.applications' head, the default) or `"torchvision"`
            (torchvision's `vgg11`: an adaptive 7x7 average pool `avg_pool` before `flatten`
            and 50% dropout after fc1 and fc2), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 132,863,336 parameters at the defaults.

    Note:
        As in keras.applications, the paper's test-time dense evaluation (fully connected
        layers turned into convolutions) is not built; inputs are expected preprocessed with
        `cnnblocks.architectures.vgg.preprocess_input` (Caffe style: BGR, mean subtracted).

    Note:
        torchvision's weights convert exactly into `variant="torchvision"`: its trunk is the
        same; fc1's rows are permuted from PyTorch's channel-first flatten order. They expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model(...).pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG11
        >>> model = VGG11(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(11, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def VGG13(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg13", *, variant="keras"):
    """VGG-13, configuration B of the paper (10 convolutions + 3 fully connected layers).

    Five VGG blocks of 2 convolutions each (64, 128, 256, 512, 512 filters, 3x3, each block
    ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names in
    keras.applications' grammar.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`, converted on load) or the path of a weight
            file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`). No ImageNet file in keras.applications' format exists for
            VGG-13, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg13"`.
        variant: `"keras"` (keras.applications' head, the default) or `"torchvision"`
            (torchvision's `vgg13`: an adaptive 7x7 average pool `avg_pool` before `flatten`
            and 50% dropout after fc1 and fc2), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 133,047,848 parameters at the defaults (torchvision's vgg13).

    Note:
        As VGG11: no dense evaluation; Caffe-style preprocessing.

    Note:
        torchvision's weights convert exactly into `variant="torchvision"`: its trunk is the
        same; fc1's rows are permuted from PyTorch's channel-first flatten order. They expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model(...).pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG13
        >>> model = VGG13(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(13, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16", *,
          variant="keras"):
    """VGG-16, configuration D of the paper (13 convolutions + 3 fully connected layers).

    Five VGG blocks of 2, 2, 3, 3, 3 convolutions (64, 128, 256, 512, 512 filters, 3x3, each
    block ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names,
    parameters and weight order equal keras.applications' VGG16.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization), `"torchvision"` (torchvision's ImageNet weights, with
            `variant="torchvision"`, converted on load) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg16"`.
        variant: `"keras"` (keras.applications' head, the default) or `"torchvision"`
            (torchvision's `vgg16`: an adaptive 7x7 average pool `avg_pool` before `flatten`
            and 50% dropout after fc1 and fc2), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 138,357,544 parameters at the defaults.

    Note:
        As in keras.applications, the paper's test-time dense evaluation is not built; inputs
        are expected preprocessed with `cnnblocks.architectures.vgg.preprocess_input`.

    Note:
        torchvision's weights convert exactly into `variant="torchvision"`: its trunk is the
        same; fc1's rows are permuted from PyTorch's channel-first flatten order. They expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model(...).pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG16
        >>> model = VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(16, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19", *,
          variant="keras"):
    """VGG-19, configuration E of the paper (16 convolutions + 3 fully connected layers).

    Five VGG blocks of 2, 2, 4, 4, 4 convolutions (64, 128, 256, 512, 512 filters, 3x3, each
    block ending in 2x2/2 max pooling), then FC-4096, FC-4096 and the classifier. Layer names,
    parameters and weight order equal keras.applications' VGG19.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: `"imagenet"` (keras.applications' file; the default, as in
            keras.applications), None (random initialization), `"torchvision"` (torchvision's
            ImageNet weights, with `variant="torchvision"`, converted on load) or the path of a
            weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg19"`.
        variant: `"keras"` (keras.applications' head, the default) or `"torchvision"`
            (torchvision's `vgg19`: an adaptive 7x7 average pool `avg_pool` before `flatten`
            and 50% dropout after fc1 and fc2), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 143,667,240 parameters at the defaults.

    Note:
        As VGG16: no dense evaluation; Caffe-style preprocessing.

    Note:
        torchvision's weights convert exactly into `variant="torchvision"`: its trunk is the
        same; fc1's rows are permuted from PyTorch's channel-first flatten order. They expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model(...).pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG19
        >>> model = VGG19(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(19, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def VGG11BN(include_top=True, weights=None, input_tensor=None, input_shape=None,
            pooling=None, classes=1000, classifier_activation="softmax", name="vgg11_bn", *,
            variant="keras"):
    """VGG-11 with batch normalization (torchvision's `vgg11_bn`), configuration A.

    Configuration A of the paper (8 3x3 convolutions in five blocks of 1, 1, 2, 2, 2
    with 64, 128, 256, 512, 512 filters, each block ending in 2x2/2 max pooling, then FC-4096,
    FC-4096 and the classifier), with BatchNormalization between every convolution and its
    ReLU, as torchvision's `vgg11_bn`: layers `block1_conv1`, `block1_conv1_bn`,
    `block1_conv1_relu`, ..., `block5_pool`, `flatten`, `fc1`, `fc2`, `predictions`.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`; from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`). keras.applications has no VGG with batch norm, so
            `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg11_bn"`.
        variant: `"keras"` (the head of keras.applications' VGG, the default) or
            `"torchvision"` (an adaptive 7x7 average pool `avg_pool` before `flatten` and 50%
            dropout after fc1 and fc2, as torchvision), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 132,874,344 parameters at the defaults, 132,868,840 of them
        trainable (torchvision's `parameters()`: Keras also counts BN's moving statistics).

    Note:
        The paper has no batch normalization (it predates it); torchvision's VGG-BN keeps the
        convolution biases before BN and uses BN epsilon 1e-5, as here. Its weights expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model("vgg11_bn").pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG11BN
        >>> model = VGG11BN(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(11, True, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def VGG13BN(include_top=True, weights=None, input_tensor=None, input_shape=None,
            pooling=None, classes=1000, classifier_activation="softmax", name="vgg13_bn", *,
            variant="keras"):
    """VGG-13 with batch normalization (torchvision's `vgg13_bn`), configuration B.

    Configuration B of the paper (10 3x3 convolutions in five blocks of 2, 2, 2, 2, 2
    with 64, 128, 256, 512, 512 filters, each block ending in 2x2/2 max pooling, then FC-4096,
    FC-4096 and the classifier), with BatchNormalization between every convolution and its
    ReLU, as torchvision's `vgg13_bn`: layers `block1_conv1`, `block1_conv1_bn`,
    `block1_conv1_relu`, ..., `block5_pool`, `flatten`, `fc1`, `fc2`, `predictions`.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`; from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`). keras.applications has no VGG with batch norm, so
            `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg13_bn"`.
        variant: `"keras"` (the head of keras.applications' VGG, the default) or
            `"torchvision"` (an adaptive 7x7 average pool `avg_pool` before `flatten` and 50%
            dropout after fc1 and fc2, as torchvision), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 133,059,624 parameters at the defaults, 133,053,736 of them
        trainable (torchvision's `parameters()`: Keras also counts BN's moving statistics).

    Note:
        The paper has no batch normalization (it predates it); torchvision's VGG-BN keeps the
        convolution biases before BN and uses BN epsilon 1e-5, as here. Its weights expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model("vgg13_bn").pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG13BN
        >>> model = VGG13BN(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(13, True, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def VGG16BN(include_top=True, weights=None, input_tensor=None, input_shape=None,
            pooling=None, classes=1000, classifier_activation="softmax", name="vgg16_bn", *,
            variant="keras"):
    """VGG-16 with batch normalization (torchvision's `vgg16_bn`), configuration D.

    Configuration D of the paper (13 3x3 convolutions in five blocks of 2, 2, 3, 3, 3
    with 64, 128, 256, 512, 512 filters, each block ending in 2x2/2 max pooling, then FC-4096,
    FC-4096 and the classifier), with BatchNormalization between every convolution and its
    ReLU, as torchvision's `vgg16_bn`: layers `block1_conv1`, `block1_conv1_bn`,
    `block1_conv1_relu`, ..., `block5_pool`, `flatten`, `fc1`, `fc2`, `predictions`.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`; from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`). keras.applications has no VGG with batch norm, so
            `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg16_bn"`.
        variant: `"keras"` (the head of keras.applications' VGG, the default) or
            `"torchvision"` (an adaptive 7x7 average pool `avg_pool` before `flatten` and 50%
            dropout after fc1 and fc2, as torchvision), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 138,374,440 parameters at the defaults, 138,365,992 of them
        trainable (torchvision's `parameters()`: Keras also counts BN's moving statistics).

    Note:
        The paper has no batch normalization (it predates it); torchvision's VGG-BN keeps the
        convolution biases before BN and uses BN epsilon 1e-5, as here. Its weights expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model("vgg16_bn").pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG16BN
        >>> model = VGG16BN(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(16, True, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


def VGG19BN(include_top=True, weights=None, input_tensor=None, input_shape=None,
            pooling=None, classes=1000, classifier_activation="softmax", name="vgg19_bn", *,
            variant="keras"):
    """VGG-19 with batch normalization (torchvision's `vgg19_bn`), configuration E.

    Configuration E of the paper (16 3x3 convolutions in five blocks of 2, 2, 4, 4, 4
    with 64, 128, 256, 512, 512 filters, each block ending in 2x2/2 max pooling, then FC-4096,
    FC-4096 and the classifier), with BatchNormalization between every convolution and its
    ReLU, as torchvision's `vgg19_bn`: layers `block1_conv1`, `block1_conv1_bn`,
    `block1_conv1_relu`, ..., `block5_pool`, `flatten`, `fc1`, `fc2`, `predictions`.

    Args:
        include_top: bool, add the three fully connected layers. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with `variant="torchvision"`; from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict with
            `variant="torchvision"`). keras.applications has no VGG with batch norm, so
            `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"vgg19_bn"`.
        variant: `"keras"` (the head of keras.applications' VGG, the default) or
            `"torchvision"` (an adaptive 7x7 average pool `avg_pool` before `flatten` and 50%
            dropout after fc1 and fc2, as torchvision), which torchvision's weights fit.

    Returns:
        A `keras.Model` with 143,689,256 parameters at the defaults, 143,678,248 of them
        trainable (torchvision's `parameters()`: Keras also counts BN's moving statistics).

    Note:
        The paper has no batch normalization (it predates it); torchvision's VGG-BN keeps the
        convolution biases before BN and uses BN epsilon 1e-5, as here. Its weights expect
        torchvision's preprocessing (RGB, ImageNet mean and std, resize 256, center crop 224;
        `FAMILY.model("vgg19_bn").pretrained`), not this module's `preprocess_input`.

    Example:
        >>> from cnnblocks import VGG19BN
        >>> model = VGG19BN(include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, 512)
    """
    return _build(19, True, include_top=include_top, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name,
                  variant=variant)


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


#: torchvision's VGG-BN parameters (`vgg{d}_bn` num_params: trainable weights). Keras adds the
#: BN moving mean and variance: 2 per BN channel; the BN channels are the convolutions' filters
#: summed (A: 64 + 128 + 2*256 + 2*512 + 2*512 = 2,752; B: 2,944; D: 4,224; E: 5,504).
_BN_CHANNELS = {11: 2_752, 13: 2_944, 16: 4_224, 19: 5_504}
_TORCHVISION_BN_PARAMS = {11: 132_868_840, 13: 133_053_736, 16: 138_365_992, 19: 143_678_248}


def _reference(depth, batch_norm=False):
    if batch_norm:
        return _bn_reference(depth)
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


def _bn_reference(depth):
    plain = _reference(depth)
    trainable = _TORCHVISION_BN_PARAMS[depth]
    source = fam.TORCHVISION.format(f"vgg{depth}_bn num_params")
    return dataclasses.replace(
        plain,
        paper=plain.paper + " (batch normalization: torchvision's vgg_bn)",
        params=fam.exact(trainable + 2 * _BN_CHANNELS[depth],
                         f"derived: {source} + 2 x {_BN_CHANNELS[depth]:,} BN channels "
                         "(comment in this module)", fam.KERAS_PARAMS + "; conv bias=True"),
        trainable_params=fam.exact(trainable, source, fam.TRAINABLE),
        table=tuple(r for r in plain.table if r.params is None),
        table_source=plain.table_source + " (the paper's parameter totals are without BN)")


#: torchvision's ImageNet weights (torchvision/models/vgg.py, `VGG{d}[_BN]_Weights.IMAGENET1K_V1`,
#: torchvision 0.28): file (its name carries the SHA-256 prefix), acc@1, acc@5, num_params,
#: _file_size (MB). Transform: resize 256, crop 224, bilinear, ImageNet mean/std.
_TORCHVISION = {
    "vgg11": ("vgg11-8a719046.pth", 69.020, 88.628, 132_863_336, 506.84),
    "vgg11_bn": ("vgg11_bn-6002323d.pth", 70.370, 89.810, 132_868_840, 506.881),
    "vgg13": ("vgg13-19584684.pth", 69.928, 89.246, 133_047_848, 507.545),
    "vgg13_bn": ("vgg13_bn-abd245e5.pth", 71.586, 90.374, 133_053_736, 507.59),
    "vgg16": ("vgg16-397923af.pth", 71.592, 90.382, 138_357_544, 527.796),
    "vgg16_bn": ("vgg16_bn-6c64b313.pth", 73.360, 91.516, 138_365_992, 527.866),
    "vgg19": ("vgg19-dcbb9e9d.pth", 72.376, 90.876, 143_667_240, 548.051),
    "vgg19_bn": ("vgg19_bn-c79401a0.pth", 74.218, 91.842, 143_678_248, 548.143),
}


def _pretrained(name):
    filename, top1, top5, params, size = _TORCHVISION[name]
    enum = name.upper() + "_Weights.IMAGENET1K_V1"  # VGG11_BN_Weights.IMAGENET1K_V1
    return {"torchvision": fam.torchvision_weights(filename, enum, top1=top1, top5=top5,
                                                   num_params=params, file_size_mb=size)}


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
        fam.ModelEntry(name="vgg11", title="VGG-11", builder=VGG11,
                       default_size=224, imagenet=None, reference=_reference(11),
                       keras_name=None,
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg11"), torch_layout=_torch_layout(11, False)),
        fam.ModelEntry(name="vgg13", title="VGG-13", builder=VGG13,
                       default_size=224, imagenet=None, reference=_reference(13),
                       keras_name=None,
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg13"), torch_layout=_torch_layout(13, False)),
        fam.ModelEntry(name="vgg16", title="VGG-16", builder=VGG16,
                       default_size=224, imagenet=_IMAGENET[16], reference=_reference(16),
                       keras_name="VGG16",
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg16"), torch_layout=_torch_layout(16, False)),
        fam.ModelEntry(name="vgg19", title="VGG-19", builder=VGG19,
                       default_size=224, imagenet=_IMAGENET[19], reference=_reference(19),
                       keras_name="VGG19",
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg19"), torch_layout=_torch_layout(19, False)),
        fam.ModelEntry(name="vgg11_bn", title="VGG-11 BN", builder=VGG11BN,
                       default_size=224, imagenet=None, reference=_reference(11, True),
                       keras_name=None,
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg11_bn"), torch_layout=_torch_layout(11, True)),
        fam.ModelEntry(name="vgg13_bn", title="VGG-13 BN", builder=VGG13BN,
                       default_size=224, imagenet=None, reference=_reference(13, True),
                       keras_name=None,
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg13_bn"), torch_layout=_torch_layout(13, True)),
        fam.ModelEntry(name="vgg16_bn", title="VGG-16 BN", builder=VGG16BN,
                       default_size=224, imagenet=None, reference=_reference(16, True),
                       keras_name=None,
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg16_bn"), torch_layout=_torch_layout(16, True)),
        fam.ModelEntry(name="vgg19_bn", title="VGG-19 BN", builder=VGG19BN,
                       default_size=224, imagenet=None, reference=_reference(19, True),
                       keras_name=None,
                       variants=(fam.KERAS_VARIANT, fam.TORCHVISION_VARIANT),
                       pretrained=_pretrained("vgg19_bn"), torch_layout=_torch_layout(19, True)),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="caffe: RGB to BGR, ImageNet mean subtracted, no scaling",
    blocks=("vgg_block",),
    estimate=estimate,
)
