"""Inception-V3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016, https://arxiv.org/abs/1512.00567).

A stem of five conv-BN-ReLU units and two max pools, then eleven Inception-V3 modules
(`mixed0` ... `mixed10`). Parameter counts and weight order equal keras.applications'
InceptionV3, whose ImageNet files load into `InceptionV3` here. Every layer keras.applications
names (`mixed0` ... `mixed10`, `mixed9_0`, `mixed9_1`, `avg_pool`, `predictions`) has that
name here; the ~94 convolutions it leaves unnamed (`conv2d_12`, ...) get deterministic names
(`conv1_conv`, `mixed0_5x5_reduce_bn`, `mixed4_7x7dbl_3_relu`, ...). Everything about the family
is in this module.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import (conv_bn_act, inception_v3_a, inception_v3_b, inception_v3_c,
                              inception_v3_reduction_a, inception_v3_reduction_b)
from cnnblocks.blocks import inception_v3 as _costs
from cnnblocks.blocks.common import spatial_size

__all__ = ["InceptionV3"]

#: The stem, 299x299x3 -> 35x35x192 (paper Table 1, with the released model's paddings):
#: ("conv", name, filters, kernel, strides, padding) conv (no bias) - BN (no scale) - ReLU
#: units and ("pool", name) 3x3/2 "valid" max pools.
INCEPTION_V3_STEM = (
    ("conv", "conv1", 32, 3, 2, "valid"),  # 149x149x32
    ("conv", "conv2", 32, 3, 1, "valid"),  # 147x147x32
    ("conv", "conv3", 64, 3, 1, "same"),  # 147x147x64
    ("pool", "pool1"),  # 73x73x64
    ("conv", "conv4", 80, 1, 1, "valid"),  # 73x73x80
    ("conv", "conv5", 192, 3, 1, "valid"),  # 71x71x192
    ("pool", "pool2"),  # 35x35x192
)

#: The modules as rows (name, kind, widths, options); widths in the block's argument order.
INCEPTION_V3_MODULES = (
    # 35x35 (Figure 5): f1, f5_reduce, f5, f3_reduce, f3, pool_proj
    ("mixed0", "a", (64, 48, 64, 64, 96, 32), {}),  # 35x35x256
    ("mixed1", "a", (64, 48, 64, 64, 96, 64), {}),  # 35x35x288
    ("mixed2", "a", (64, 48, 64, 64, 96, 64), {}),  # 35x35x288
    # grid reduction (Figure 10): f3, f3dbl_reduce, f3dbl
    ("mixed3", "reduction_a", (384, 64, 96), {}),  # 17x17x768
    # 17x17 (Figure 6, n=7): f1, f7_reduce, f7, f7dbl_reduce, f7dbl, pool_proj
    ("mixed4", "b", (192, 128, 192, 128, 192, 192), {}),  # 17x17x768
    ("mixed5", "b", (192, 160, 192, 160, 192, 192), {}),  # 17x17x768
    ("mixed6", "b", (192, 160, 192, 160, 192, 192), {}),  # 17x17x768
    ("mixed7", "b", (192, 192, 192, 192, 192, 192), {}),  # 17x17x768
    # grid reduction: f3_reduce, f3, f7_reduce, f7
    ("mixed8", "reduction_b", (192, 320, 192, 192), {}),  # 8x8x1280
    # 8x8 (Figure 7): f1, f3_reduce, f3, f3dbl_reduce, f3dbl, pool_proj. keras.applications
    # names the first inner concatenation of mixed10 "mixed9_1".
    ("mixed9", "c", (320, 384, 384, 448, 384, 192),
     {"concat_names": ("mixed9_0", "mixed9_3x3dbl_concat")}),  # 8x8x2048
    ("mixed10", "c", (320, 384, 384, 448, 384, 192),
     {"concat_names": ("mixed9_1", "mixed10_3x3dbl_concat")}),  # 8x8x2048
)

_MODULES = {
    "a": inception_v3_a,
    "reduction_a": inception_v3_reduction_a,
    "b": inception_v3_b,
    "reduction_b": inception_v3_reduction_b,
    "c": inception_v3_c,
}


#: Feature taps: the last layer at strides 4, 8, 16 and 32.
_TAPS = {"conv5": "C2", "mixed2": "C3", "mixed7": "C4", "mixed10": "C5"}

#: The two structures, as options of every conv-BN-ReLU unit and module (no conv bias and BN
#: epsilon 1e-3 in both):
#: - "keras": keras.applications' (BN without gamma; Keras "same" average pools, which average
#:   the input pixels under the window only);
#: - "torchvision": torchvision's `inception_v3` (BN with gamma; the modules' 3x3/1 average
#:   pools count the zero padding, as PyTorch's `avg_pool2d(3, 1, 1)`).
INCEPTION_V3_VARIANTS = {
    fam.KERAS_VARIANT: dict(bn_scale=False, count_include_pad=False),
    fam.TORCHVISION_VARIANT: dict(bn_scale=True, count_include_pad=True),
}
#: The auxiliary classifier sits on this module's output (the 17x17 grid).
AUX_TAP = "mixed7"
#: Smallest input with the auxiliary classifier: its 5x5/3 pool and 5x5 "valid" convolution
#: need a 17x17 grid at mixed7.
AUX_MIN_SIZE = 299
#: torchvision's dropout before the classifier.
TORCHVISION_DROPOUT = 0.5


def _trunk(x, ctx):
    """The stem's conv-BN-ReLU units (each a `conv_bn_act` block) and max pools (regions), then
    the eleven modules, and the auxiliary classifier when asked for."""
    options = INCEPTION_V3_VARIANTS[ctx.variant]
    if ctx.options["aux_classifiers"]:
        size = spatial_size(tuple(x.shape), ctx.data_format)
        if any(s is not None and s < AUX_MIN_SIZE for s in size):
            raise ValueError(
                f"`aux_classifiers=True` needs an input of at least {AUX_MIN_SIZE}x"
                f"{AUX_MIN_SIZE} (its 5x5/3 average pool and 5x5 convolution need the 17x17 "
                f"grid); received input_shape={ctx.options['input_shape']!r}.")
    aux = []
    for kind, layer, *unit in INCEPTION_V3_STEM:
        if kind == "pool":
            x = common.max_pool_region(x, layer, ctx, pool_name=layer)
            continue
        filters, kernel_size, strides, padding = unit
        x = conv_bn_act(x, filters, kernel_size, strides=strides, padding=padding,
                        use_bias=False, bn_scale=options["bn_scale"],
                        data_format=ctx.data_format, name=layer)
        if layer in _TAPS:
            ctx.tap(_TAPS[layer], x)
    for block, kind, widths, module_options in INCEPTION_V3_MODULES:
        pool = ({"count_include_pad": options["count_include_pad"]}
                if kind in ("a", "b", "c") else {})
        x = _MODULES[kind](x, *widths, bn_scale=options["bn_scale"], data_format=ctx.data_format,
                           name=block, **pool, **module_options)
        if block in _TAPS:
            ctx.tap(_TAPS[block], x)
        if block == AUX_TAP and ctx.options["aux_classifiers"]:
            aux.append(_aux_head(x, ctx, bn_scale=options["bn_scale"]))
    return (x, aux) if aux else x


def _aux_head(x, ctx, *, bn_scale):
    """The auxiliary classifier on the 17x17 grid (the paper's side head; torchvision's
    `InceptionAux`), the region `aux`: average pool 5x5/3 (`aux_avg_pool`), 1x1 conv 128
    (`aux_1x1_*`), 5x5 "valid" conv 768 (`aux_5x5_*`), global average pool (`aux_global_pool`),
    linear `classes` (`aux_predictions`)."""
    label = f"avg 5x5 /3 → 1x1 128 → 5x5 768 → fc {ctx.classes}"
    with identity.region(x, "aux_classifier", "aux", args={"classes": ctx.classes},
                         label=label) as region:
        y = layers.AveragePooling2D(5, strides=3, padding="valid", data_format=ctx.data_format,
                                    name="aux_avg_pool")(x)
        for filters, kernel, unit in ((128, 1, "aux_1x1"), (768, 5, "aux_5x5")):
            y = conv_bn_act(y, filters, kernel, padding="valid", use_bias=False,
                            bn_scale=bn_scale, data_format=ctx.data_format, name=unit)
        y = layers.GlobalAveragePooling2D(data_format=ctx.data_format,
                                          name="aux_global_pool")(y)
        return region.done(layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                                        name="aux_predictions")(y))


def _head(x, ctx):
    """keras.applications' head (`avg_pool`, `predictions`); torchvision's has a 50% `dropout`
    between them."""
    torchvision = ctx.variant == fam.TORCHVISION_VARIANT
    return common.global_pool_head(x, ctx, dropout=TORCHVISION_DROPOUT if torchvision else None)


#: The smallest input height and width the builder takes.
INCEPTION_V3_MIN_SIZE = 75
#: Each module kind's cost walk (`cnnblocks.blocks.inception_v3`).
_MODULE_COSTS = {kind: getattr(_costs, f"inception_v3_{kind}_cost") for kind in _MODULES}


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered model `point`
    (a `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (at least 75x75,
    as the builder) in `variant`'s structure (None: the builder's default, "keras"), walked
    layer by layer as `_trunk` and `_head` build them, without building anything; without the
    auxiliary classifier (the builder's default)."""
    variant, tally = common.estimate_start(point, input_shape, variant,
                                           min_size=INCEPTION_V3_MIN_SIZE)
    options = INCEPTION_V3_VARIANTS[variant]
    bn_scale = options["bn_scale"]
    for kind, layer, *unit in INCEPTION_V3_STEM:
        if kind == "pool":                                      # pool1, pool2: 3x3/2 "valid"
            tally.pool(3, 2)
            continue
        filters, kernel_size, strides, padding = unit           # conv{i}_conv, _bn, _relu
        _costs.conv_unit_cost(tally, tally.shape, filters, kernel_size, strides=strides,
                              padding=padding, bn_scale=bn_scale)
    tally.stage("stem")
    for block, kind, widths, _ in INCEPTION_V3_MODULES:
        pool = ({"count_include_pad": options["count_include_pad"]}
                if kind in ("a", "b", "c") else {})
        _MODULE_COSTS[kind](tally, *widths, bn_scale=bn_scale, **pool)
        tally.stage(block)
    tally.head(include_top, pooling, classes, dropout=variant == fam.TORCHVISION_VARIANT)
    return tally.result()


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3", *, aux_classifiers=False, variant="keras"):
    """Inception-V3, the ImageNet network of the paper (Table 1).

    Reference: Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception Architecture
    for Computer Vision", CVPR 2016, https://arxiv.org/abs/1512.00567. The structure is the
    data in `INCEPTION_V3_STEM` and `INCEPTION_V3_MODULES`.

    Args:
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization), `"torchvision"` (torchvision's ImageNet weights, with
            `variant="torchvision"`, converted on load) or the path of a weight file
            (keras.applications' legacy HDF5 layout, `.weights.h5` or `.keras`; or a PyTorch
            `.pth`/`.safetensors` state dict with `variant="torchvision"`).
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 75x75; must be static with a top, and
            (299, 299, 3) with a top and ImageNet weights. Default (299, 299, 3) with a top,
            (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"inception_v3"`.
        aux_classifiers: bool, add the auxiliary classifier on `mixed7` (the paper's side
            head, torchvision's `AuxLogits`, region `aux`); the model then has two outputs
            `[predictions, aux_predictions]`. Needs `include_top=True` and an input of at
            least 299x299. Default False.
        variant: `"keras"` (keras.applications' structure, the default) or `"torchvision"`
            (torchvision's `inception_v3`, which its weights fit; see the Note).

    Returns:
        A `keras.Model`: 23,851,784 parameters (23,817,352 trainable) with the top,
        21,802,784 without. The feature map (`mixed10`) has 2048 channels, 8x8 at 299.
        With `variant="torchvision"` the trainable parameters equal torchvision's
        `parameters()`: 23,834,568, 27,161,264 with the auxiliary classifier.

    Note:
        - Batch normalization has no learned scale (gamma), and convolutions no bias, as in the
          released model and keras.applications.
        - The 35x35 modules keep a 1x1-5x5 branch, as the released model does; the paper's
          Figure 5 replaces it with two 3x3 convolutions.
        - No auxiliary classifier (the paper's side head on the 17x17 grid), as in
          keras.applications; it only serves training.
        - Inputs are expected in [-1, 1]: use
          `cnnblocks.architectures.inception_v3.preprocess_input`.

    Note:
        `variant="torchvision"` builds torchvision's structure so that its weights (and timm's
        `inception_v3.tv_in1k`, same keys) convert exactly: BN learns gamma (epsilon 1e-3),
        the modules' 3x3/1 average pools count the zero padding (`mixed0_pool_pad` then a
        "valid" pool: PyTorch's `count_include_pad=True`; Keras' "same" pool divides by the
        pixels inside the image), and 50% `dropout` before `predictions`. torchvision's
        weights expect `transform_input=True`, which maps its ImageNet normalization to
        (x - 0.5) / 0.5 per channel: their recorded preprocessing is mean 0.5 and std 0.5,
        that composition (timm records the same), i.e. this module's `preprocess_input`, with
        torchvision's resize 342 and center crop 299.

    Example:
        >>> from cnnblocks import InceptionV3
        >>> model = InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
        >>> tuple(model.output.shape)
        (None, 1, 1, 2048)
    """
    return common.build(FAMILY.model("inception_v3"), _trunk, head=_head,
                        min_size=INCEPTION_V3_MIN_SIZE,
                        checks=lambda: _check_aux(aux_classifiers, include_top),
                        options=dict(aux_classifiers=aux_classifiers, input_shape=input_shape),
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, name=name,
                        variant=variant)


def _check_aux(aux_classifiers, include_top):
    if not isinstance(aux_classifiers, bool):
        raise TypeError(f"`aux_classifiers` must be a bool, received "
                        f"{check.describe(aux_classifiers)}.")
    if aux_classifiers and include_top is False:
        raise ValueError("`aux_classifiers=True` needs `include_top=True` (the auxiliary "
                         "classifier is an extra classification head); received "
                         f"include_top={include_top!r}.")


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")

#: torchvision's module of each stem unit and module (torchvision/models/inception.py).
_TORCH_STEM = {"conv1": "Conv2d_1a_3x3", "conv2": "Conv2d_2a_3x3", "conv3": "Conv2d_2b_3x3",
               "conv4": "Conv2d_3b_1x1", "conv5": "Conv2d_4a_3x3"}
_TORCH_MODULES = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                  "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c")
#: Per module kind: our branch unit -> torchvision's (InceptionA ... InceptionE).
_TORCH_BRANCHES = {
    "a": {"1x1": "branch1x1", "5x5_reduce": "branch5x5_1", "5x5": "branch5x5_2",
          "3x3dbl_reduce": "branch3x3dbl_1", "3x3dbl_1": "branch3x3dbl_2",
          "3x3dbl_2": "branch3x3dbl_3", "pool_proj": "branch_pool"},
    "reduction_a": {"3x3": "branch3x3", "3x3dbl_reduce": "branch3x3dbl_1",
                    "3x3dbl_1": "branch3x3dbl_2", "3x3dbl_2": "branch3x3dbl_3"},
    "b": {"1x1": "branch1x1", "7x7_reduce": "branch7x7_1", "7x7_1": "branch7x7_2",
          "7x7_2": "branch7x7_3", "7x7dbl_reduce": "branch7x7dbl_1",
          "7x7dbl_1": "branch7x7dbl_2", "7x7dbl_2": "branch7x7dbl_3",
          "7x7dbl_3": "branch7x7dbl_4", "7x7dbl_4": "branch7x7dbl_5", "pool_proj": "branch_pool"},
    "reduction_b": {"3x3_reduce": "branch3x3_1", "3x3": "branch3x3_2",
                    "7x7x3_reduce": "branch7x7x3_1", "7x7x3_1": "branch7x7x3_2",
                    "7x7x3_2": "branch7x7x3_3", "7x7x3_3": "branch7x7x3_4"},
    "c": {"1x1": "branch1x1", "3x3_reduce": "branch3x3_1", "3x3_1x3": "branch3x3_2a",
          "3x3_3x1": "branch3x3_2b", "3x3dbl_reduce": "branch3x3dbl_1",
          "3x3dbl": "branch3x3dbl_2", "3x3dbl_1x3": "branch3x3dbl_3a",
          "3x3dbl_3x1": "branch3x3dbl_3b", "pool_proj": "branch_pool"},
}


def _torch_layout():
    """Keras layer -> torchvision module: each unit's `_conv`/`_bn` -> BasicConv2d's
    `.conv`/`.bn`; the auxiliary classifier `AuxLogits.conv0`, `.conv1`, `.fc`; `fc`."""
    found = {}

    def basic(ours, theirs):
        found[f"{ours}_conv"], found[f"{ours}_bn"] = f"{theirs}.conv", f"{theirs}.bn"

    for ours, theirs in _TORCH_STEM.items():
        basic(ours, theirs)
    for (block, kind, _, _), theirs in zip(INCEPTION_V3_MODULES, _TORCH_MODULES):
        for unit, branch in _TORCH_BRANCHES[kind].items():
            basic(f"{block}_{unit}", f"{theirs}.{branch}")
    basic("aux_1x1", "AuxLogits.conv0")
    basic("aux_5x5", "AuxLogits.conv1")
    found.update(aux_predictions="AuxLogits.fc", predictions="fc")
    return fam.TorchLayout(found)


#: torchvision's ImageNet weights (torchvision/models/inception.py, Inception_V3_Weights,
#: torchvision 0.28): "ported from the original paper"; transform resize 342, crop 299,
#: bilinear. Loading them torchvision sets `transform_input=True` (ImageNet normalization
#: mapped to (x - 0.5) / 0.5): mean and std 0.5 here are that composition. The file holds the
#: auxiliary classifier too.
TORCHVISION_WEIGHTS = fam.torchvision_weights(
    "inception_v3_google-0cc3c7bd.pth", "Inception_V3_Weights.IMAGENET1K_V1", top1=77.294,
    top5=93.450, num_params=27_161_264, file_size_mb=103.903, input_size=299, resize_size=342,
    mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
    notes="torchvision's transform_input=True is folded into mean/std 0.5 (timm's "
          "inception_v3.tv_in1k config says the same); the file also holds the auxiliary "
          "classifier (aux_classifiers=True loads it).")

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
_PAPER = ("Szegedy et al., Rethinking the Inception Architecture for Computer Vision, "
          "CVPR 2016")

FAMILY = fam.Family(
    name="inception_v3",
    title="Inception-V3",
    paper=_PAPER,
    url="https://arxiv.org/abs/1512.00567",
    models=(fam.ModelEntry(
        name="inception_v3", title="Inception-V3", builder=InceptionV3, default_size=299,
        keras_name="InceptionV3", variants=tuple(INCEPTION_V3_VARIANTS),
        pretrained={"torchvision": TORCHVISION_WEIGHTS}, torch_layout=_torch_layout(),
        # keras.applications' ImageNet files (inception_v3.py, Keras 3.15): (with top, no top).
        imagenet=(fam.WeightFile(_BASE + "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                                 "9a0d58056eeedaa3f26cb7ebd46da564"),
                  fam.WeightFile(_BASE +
                                 "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                 "bcbd6486424b2319ff4ef7d526e38f63")),
        reference=fam.Reference(
            paper=_PAPER,
            input_shape=(299, 299, 3),
            params=fam.exact(23_851_784, fam.KERAS.format("InceptionV3"),
                             fam.KERAS_PARAMS + "; no conv bias, BN scale=False"),
            trainable_params=fam.exact(23_817_352, fam.KERAS.format("InceptionV3"),
                                       fam.TRAINABLE),
            # Longest path of the released architecture: 5 stem convs, 3 x 3 (35x35 modules,
            # double-3x3 branch), 3 (reduction), 4 x 5 (17x17 modules, double-7x7 branch),
            # 4 (reduction), 2 x 3 (8x8 modules), 1 FC = 48.
            depth=fam.exact(48, "derived from the released architecture (comment)", fam.DEPTH),
            macs=fam.measured_macs(5_713_000_000, fam.KERAS_MACS.format("InceptionV3") +
                                   " at 299x299; torchvision meta 5.713 GFLOPS"),
            others=(("torchvision inception_v3 params without aux head (BN 2 per channel)",
                     fam.exact(23_834_568, fam.TORCHVISION.format("inception_v3"))),
                    ("Xception paper Table 3 params for Inception V3",
                     fam.exact(23_626_728, "Chollet 2017 Table 3"))),
        )),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("conv_bn_act", "inception_v3_a", "inception_v3_reduction_a", "inception_v3_b",
            "inception_v3_reduction_b", "inception_v3_c"),
    estimate=estimate,
)
