"""ConvNeXt-T/S/B/L/XL (Liu et al., "A ConvNet for the 2020s", CVPR 2022,
https://arxiv.org/abs/2201.03545).

A 4x4/4 "patchify" convolution with LayerNorm (the stem), four stages of `convnext_block`s
(depths 3-3-9-3 for T, 3-3-27-3 for the others; widths in `CONVNEXT_SPECS`), a LayerNorm and a
2x2/2 convolution between stages (downsampling), global average pooling, LayerNorm and the
classifier. The model takes pixels in [0, 255]: with `include_preprocessing` (the default) it
starts with keras.applications' `Normalization` by ImageNet's mean and standard deviation.

Layer names, parameter counts and weight order equal keras.applications' ConvNeXtTiny ...
ConvNeXtXLarge (`convnext_tiny_stem_conv`, `convnext_tiny_stage_0_block_0_depthwise_conv`, ...,
`convnext_tiny_downsampling_conv_0`, ..., `convnext_tiny_head_dense`: every layer name grows
from the model's `name`, as in keras.applications), so its ImageNet files load here; the same
structure takes torchvision's ConvNeXt T/S/B/L state dicts (`weights="torchvision"`, or a
`.pth` path), converted on load. Everything about the family is in this module.
"""

import keras
import numpy as np
from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import convnext_block
from cnnblocks.blocks.convnext import convnext_block_cost

__all__ = ["ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"]

#: The variants (the paper's section 2.6 and keras.applications / torchvision): blocks per stage
#: and channels per stage. Stage i's output is at stride 4 * 2**i (56, 28, 14, 7 at 224x224).
CONVNEXT_SPECS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),      # ConvNeXt-T
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),    # ConvNeXt-S
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),   # ConvNeXt-B
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),  # ConvNeXt-L
    "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),  # ConvNeXt-XL
}
#: LayerNorm epsilon everywhere, LayerScale's initial value (keras.applications, reference).
LN_EPSILON, LAYER_SCALE_INIT = 1e-6, 1e-6
#: The stochastic-depth rate keras.applications' builders use (none: ImageNet inference).
DROP_PATH_RATE = 0.0
#: ImageNet's mean and standard deviation per RGB channel, on pixels in [0, 1].
IMAGENET_MEAN_RGB, IMAGENET_STDDEV_RGB = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
#: keras.applications' ImageNet files (convnext.py, Keras 3.15): SHA-256 (with top, no top).
IMAGENET_HASHES = {
    "tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
             "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
              "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
             "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
              "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
               "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}


def _imagenet(variant):
    top, notop = IMAGENET_HASHES[variant]
    return (fam.WeightFile(f"{_BASE}convnext_{variant}.h5", sha256=top),
            fam.WeightFile(f"{_BASE}convnext_{variant}_notop.h5", sha256=notop))


def drop_rates(depths, rate):
    """The stochastic-depth rate of each block: linear from 0 to `rate` over all blocks
    (keras.applications' and the reference implementation's schedule)."""
    return [float(r) for r in np.linspace(0.0, rate, sum(depths))]


def _stem(x, filters, name):
    """The 4x4/4 patchify convolution and its LayerNorm (region `stem`): keras.applications'
    Sequential `{name}_stem`, its two layers inlined."""
    with identity.region(x, "stem", f"{name}_stem", args={"filters": filters, "strides": 4},
                         label=f"4x4 {filters} /4, LN") as region:
        y = layers.Conv2D(filters, 4, strides=4, name=f"{name}_stem_conv")(x)
        y = layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{name}_stem_layernorm")(y)
        return region.done(y)


def _downsampling(x, filters, i, name):
    """LayerNorm and the 2x2/2 convolution between stages (region `downsampling`):
    keras.applications' Sequential `{name}_downsampling_block_{i}`, inlined."""
    with identity.region(x, "downsampling", f"{name}_downsampling_block_{i}",
                         args={"filters": filters, "strides": 2},
                         label=f"LN, 2x2 {filters} /2") as region:
        y = layers.LayerNormalization(epsilon=LN_EPSILON,
                                      name=f"{name}_downsampling_layernorm_{i}")(x)
        y = layers.Conv2D(filters, 2, strides=2, name=f"{name}_downsampling_conv_{i}")(y)
        return region.done(y)


def _trunk(variant, name):
    """Preprocessing (region `preprocessing`), stem, the four stages with downsampling between
    them; without a top and pooling, keras.applications' final LayerNorm."""
    depths, widths = CONVNEXT_SPECS[variant]

    def body(x, ctx):
        if ctx.options["include_preprocessing"] and x.shape[-1] == 3:
            with identity.region(x, "preprocessing", "preprocessing",
                                 label="ImageNet mean and std") as pre:
                x = pre.done(layers.Normalization(
                    mean=[m * 255 for m in IMAGENET_MEAN_RGB],
                    variance=[(s * 255) ** 2 for s in IMAGENET_STDDEV_RGB],
                    name=f"{name}_prestem_normalization")(x))
        x = _stem(x, widths[0], name)
        rates = drop_rates(depths, ctx.options["drop_path_rate"])
        b = 0
        for i, (depth, width) in enumerate(zip(depths, widths)):
            if i > 0:
                x = _downsampling(x, width, i - 1, name)
            for j in range(depth):
                x = convnext_block(x, width, drop_rate=rates[b],
                                   layer_scale_init_value=LAYER_SCALE_INIT,
                                   ln_epsilon=LN_EPSILON, name=f"{name}_stage_{i}_block_{j}")
                b += 1
            ctx.tap(f"C{i + 2}", x)
        if not ctx.include_top and ctx.pooling is None:
            with identity.region(x, "norm", "layer_normalization", label="LN") as region:
                x = region.done(layers.LayerNormalization(epsilon=LN_EPSILON,
                                                          name="layer_normalization")(x))
        return x
    return body


def _head(x, ctx):
    """With a top: `{name}_head_gap`, `{name}_head_layernorm`, `{name}_head_dense`. Without:
    the global pooling, then keras.applications' LayerNorm (`global_average_pooling2d` /
    `global_max_pooling2d`, `layer_normalization`: the names Keras gives its unnamed layers
    in a fresh session)."""
    name = ctx.options["name"]
    if ctx.include_top:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=LN_EPSILON, name=f"{name}_head_layernorm")(x)
        return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                            name=f"{name}_head_dense")(x)
    if ctx.pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    else:
        x = layers.GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    return layers.LayerNormalization(epsilon=LN_EPSILON, name="layer_normalization")(x)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered model `point`
    (a `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)`, walked layer by
    layer as `_trunk` and `_head` build them with the builders' defaults (the preprocessing
    `Normalization`, whose given mean and variance are no weights; no stochastic depth),
    without building anything. `variant`: None or "keras", the only structure."""
    if variant is not None:
        check.choice(variant, "variant", point.variants)
    depths, widths = CONVNEXT_SPECS[point.name[len("convnext_"):]]
    tally = cost.Tally(input_shape)
    tally.elementwise()                                         # prestem_normalization
    tally.stage("preprocessing")
    tally.conv(widths[0], 4, 4, bias=True)                      # stem_conv, stem_layernorm
    tally.layer_norm()
    tally.stage("stem")
    for i, (depth, width) in enumerate(zip(depths, widths)):
        if i > 0:                                               # downsampling_layernorm_{i-1},
            tally.layer_norm()                                  # downsampling_conv_{i-1}
            tally.conv(width, 2, 2, bias=True)
        for _ in range(depth):
            convnext_block_cost(tally, width, drop_rate=DROP_PATH_RATE,
                                layer_scale_init_value=LAYER_SCALE_INIT)
        tally.stage(f"stage_{i}")
    if include_top:                                             # head_gap, head_layernorm,
        tally.global_pool()                                     # head_dense
        tally.layer_norm()
        tally.dense(classes)
    else:                                                       # global pooling if any, then
        if pooling is not None:                                 # layer_normalization
            tally.global_pool()
        tally.layer_norm()
    return tally.result()


def _build(variant, *, include_preprocessing, name, **kwargs):
    check.boolean(include_preprocessing, "include_preprocessing")
    check.layer_prefix(name, "name")
    return common.build(FAMILY.model(f"convnext_{variant}"), _trunk(variant, name),
                        min_size=32, head=_head, name=name, checks=_channels_last,
                        options={"include_preprocessing": include_preprocessing,
                                 "drop_path_rate": DROP_PATH_RATE, "name": name}, **kwargs)


def _channels_last():
    if keras.config.image_data_format() != "channels_last":
        raise ValueError("ConvNeXt supports only the 'channels_last' image data format (as "
                         "keras.applications); received keras.config.image_data_format()="
                         f"{keras.config.image_data_format()!r}.")


_DOC = """ConvNeXt-{letter}: {depths} blocks of widths {widths} (Liu et al. 2022, section 2.6).

    Reference: Liu, Mao, Wu, Feichtenhofer, Darrell & Xie, "A ConvNet for the 2020s", CVPR
    2022, https://arxiv.org/abs/2201.03545. The structure is the data in
    `CONVNEXT_SPECS["{variant}"]`; the layers are those of keras.applications' `{keras}`.

    Args:
        include_top: bool, add `{{name}}_head_gap`, `{{name}}_head_layernorm` and the
            classifier `{{name}}_head_dense`. Default True.
        include_preprocessing: bool, start with `{{name}}_prestem_normalization` (pixels in
            [0, 255] normalized by ImageNet's mean and standard deviation; 3-channel inputs
            only), as keras.applications. Default True; keep it with ImageNet or torchvision
            weights.
        weights: `"imagenet"` (keras.applications' file `convnext_{variant}.h5` /
            `convnext_{variant}_notop.h5`, from the Keras cache, checked against its SHA-256,
            downloaded when missing; the default, as in keras.applications),{torch} None
            (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top, and
            (224, 224, 3) with a top and ImageNet weights. Default (224, 224, 3) with a top,
            (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `global_average_pooling2d` / `global_max_pooling2d`); a LayerNorm
            (`layer_normalization`) follows either way, as in keras.applications.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of the classifier. Default `"softmax"`.
        name: model name, also the prefix of every layer name (as keras.applications).
            Default `"convnext_{variant}"`.

    Returns:
        A channels-last `keras.Model` taking pixels in [0, 255]: {params:,} parameters at the
        defaults (all trainable). The feature map has {last} channels at 1/32 of the input
        size; the feature taps C2-C5 are the stages' last blocks (strides 4, 8, 16, 32).

    Note:
        - The stem (`{{name}}_stem_conv`, `{{name}}_stem_layernorm`) and each downsampling
          step (`{{name}}_downsampling_layernorm_{{i}}`, `{{name}}_downsampling_conv_{{i}}`) are
          layers of the model itself, where keras.applications nests them in Sequential models
          `{{name}}_stem` and `{{name}}_downsampling_block_{{i}}`: the same layers in the same
          order, so the weights (`get_weights()`) and keras.applications' weight files
          correspond one to one.
        - Each block's residual sum is an `Add` layer `{{name}}_stage_{{i}}_block_{{j}}_add`
          (keras.applications adds with an unnamed `x + y`).
        - No stochastic depth (rate 0, `_identity` layers), as keras.applications' builders;
          `convnext_block(drop_rate=...)` has it for training.
        - Channels-last only (ValueError otherwise), as keras.applications.
        - The ImageNet file is the one of ConvNeXt-{letter} whatever `name` is
          (keras.applications derives the file name from `name`), and it loads by layer
          order whatever the layer names are; a PyTorch state dict is matched by layer name,
          so it needs the default `name`.

    Example:
        >>> from cnnblocks import {keras}
        >>> model = {keras}(weights=None, include_top=False, input_shape=(64, 64, 3))
        >>> tuple(model.output.shape)
        (None, 2, 2, {last})
    """


def ConvNeXtTiny(include_top=True, include_preprocessing=True, weights="imagenet",
                 input_tensor=None, input_shape=None, pooling=None, classes=1000,
                 classifier_activation="softmax", name="convnext_tiny"):
    return _build("tiny", include_top=include_top, include_preprocessing=include_preprocessing,
                  weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                  pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def ConvNeXtSmall(include_top=True, include_preprocessing=True, weights="imagenet",
                  input_tensor=None, input_shape=None, pooling=None, classes=1000,
                  classifier_activation="softmax", name="convnext_small"):
    return _build("small", include_top=include_top, include_preprocessing=include_preprocessing,
                  weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                  pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def ConvNeXtBase(include_top=True, include_preprocessing=True, weights="imagenet",
                 input_tensor=None, input_shape=None, pooling=None, classes=1000,
                 classifier_activation="softmax", name="convnext_base"):
    return _build("base", include_top=include_top, include_preprocessing=include_preprocessing,
                  weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                  pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def ConvNeXtLarge(include_top=True, include_preprocessing=True, weights="imagenet",
                  input_tensor=None, input_shape=None, pooling=None, classes=1000,
                  classifier_activation="softmax", name="convnext_large"):
    return _build("large", include_top=include_top, include_preprocessing=include_preprocessing,
                  weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                  pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name)


def ConvNeXtXLarge(include_top=True, include_preprocessing=True, weights="imagenet",
                   input_tensor=None, input_shape=None, pooling=None, classes=1000,
                   classifier_activation="softmax", name="convnext_xlarge"):
    return _build("xlarge", include_top=include_top,
                  include_preprocessing=include_preprocessing, weights=weights,
                  input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                  classes=classes, classifier_activation=classifier_activation, name=name)


#: keras.applications (Keras 3.15, weights=None, with top, 224x224), measured:
#: count_params() (all trainable), weight depth (`cnnblocks.weight_depth`), count_macs.
KERAS_COUNTS = {
    "tiny": (28_589_128, 59, 4_455_531_264),
    "small": (50_223_688, 113, 8_683_712_256),
    "base": (88_591_464, 113, 15_354_729_472),
    "large": (197_767_336, 113, 34_361_433_600),
    "xlarge": (350_196_968, 113, 60_921_030_656),
}

#: torchvision's ImageNet-1k weight sets (torchvision 0.28 `ConvNeXt_*_Weights.IMAGENET1K_V1`
#: meta): file, acc@1, acc@5, num_params, file size (MB), resize size (crop 224, bilinear),
#: GFLOPS (`_ops`, multiply-adds in billions).
TORCHVISION_WEIGHTS = {
    "tiny": ("convnext_tiny-983f1562.pth", 82.520, 96.146, 28_589_128, 109.119, 236, 4.456),
    "small": ("convnext_small-0c510722.pth", 83.616, 96.650, 50_223_688, 191.703, 230, 8.684),
    "base": ("convnext_base-6075fbad.pth", 84.062, 96.870, 88_591_464, 338.064, 232, 15.355),
    "large": ("convnext_large-ea097f82.pth", 84.414, 96.976, 197_767_336, 754.537, 232,
              34.361),
}
_LETTER = {"tiny": "T", "small": "S", "base": "B", "large": "L", "xlarge": "XL"}
_KERAS_NAME = {v: f"ConvNeXt{v.title() if v != 'xlarge' else 'XLarge'}" for v in CONVNEXT_SPECS}

for _variant, _builder in (("tiny", ConvNeXtTiny), ("small", ConvNeXtSmall),
                           ("base", ConvNeXtBase), ("large", ConvNeXtLarge),
                           ("xlarge", ConvNeXtXLarge)):
    _depths, _widths = CONVNEXT_SPECS[_variant]
    _builder.__doc__ = _DOC.format(
        letter=_LETTER[_variant], variant=_variant, keras=_KERAS_NAME[_variant],
        depths="-".join(map(str, _depths)), widths="-".join(map(str, _widths)),
        params=KERAS_COUNTS[_variant][0], last=_widths[-1],
        torch=(' `"torchvision"` (torchvision\'s ImageNet weights, converted on load),'
               if _variant in TORCHVISION_WEIGHTS else ""))


def preprocess_input(x, data_format=None):
    """A pass-through, as keras.applications' `convnext.preprocess_input`: the models
    normalize pixels in [0, 255] themselves (`include_preprocessing`). Returns `x`."""
    return x


decode_predictions = preprocessing.decode_predictions


# --- torchvision ----------------------------------------------------------------------------

def _torch_layout(variant, name):
    """Keras layer -> torchvision module: `features.0` the stem (`.0` conv, `.1` LayerNorm2d),
    `features.{2i + 1}` stage i (block j: `.{j}.block.0` depthwise conv, `.block.2` LayerNorm,
    `.block.3` / `.block.5` the Linear layers, `.{j}` itself holding `layer_scale`),
    `features.{2i + 2}` the downsampling after stage i (`.0` LayerNorm2d, `.1` conv),
    `classifier.0` the head's LayerNorm2d, `classifier.2` the Linear."""
    depths, _ = CONVNEXT_SPECS[variant]
    found = {f"{name}_stem_conv": "features.0.0", f"{name}_stem_layernorm": "features.0.1",
             f"{name}_head_layernorm": "classifier.0", f"{name}_head_dense": "classifier.2"}
    for i, depth in enumerate(depths):
        for j in range(depth):
            block, module = f"{name}_stage_{i}_block_{j}", f"features.{2 * i + 1}.{j}"
            found.update({f"{block}_depthwise_conv": f"{module}.block.0",
                          f"{block}_layernorm": f"{module}.block.2",
                          f"{block}_pointwise_conv_1": f"{module}.block.3",
                          f"{block}_pointwise_conv_2": f"{module}.block.5",
                          f"{block}_layer_scale": module})
        if i < 3:
            found[f"{name}_downsampling_layernorm_{i}"] = f"features.{2 * i + 2}.0"
            found[f"{name}_downsampling_conv_{i}"] = f"features.{2 * i + 2}.1"
    return fam.TorchLayout(found, variant=fam.KERAS_VARIANT)


def _pretrained(variant):
    if variant not in TORCHVISION_WEIGHTS:
        return {}
    filename, top1, top5, params, size, resize, _ = TORCHVISION_WEIGHTS[variant]
    return {"torchvision": fam.PretrainedConfig(
        name="torchvision", file=fam.torch_hub_file(fam.TORCHVISION_MODELS + filename),
        variant=fam.KERAS_VARIANT,
        source=f"torchvision ConvNeXt_{variant.title()}_Weights.IMAGENET1K_V1 (weight "
               "metadata in torchvision.models, torchvision 0.28)",
        resize_size=resize, top1=top1, top5=top5, num_params=params, file_size_mb=size,
        notes="the same structure as keras.applications' (one variant); keep "
              "include_preprocessing=True and feed pixels in [0, 255]: the model's "
              "Normalization is torchvision's transform (x / 255 - mean) / std")}


# --- Published numbers ----------------------------------------------------------------------
CONVNEXT_PAPER = ("Liu et al., A ConvNet for the 2020s, CVPR 2022")


def _reference(variant):
    params, depth, macs = KERAS_COUNTS[variant]
    keras_name = _KERAS_NAME[variant]
    others = ()
    if variant in TORCHVISION_WEIGHTS:
        _, _, _, tv_params, _, _, gflops = TORCHVISION_WEIGHTS[variant]
        others = (
            ("torchvision num_params", fam.exact(
                tv_params, f"torchvision ConvNeXt_{variant.title()}_Weights.IMAGENET1K_V1 "
                "meta num_params", "parameters (all trainable; no BN)")),
            ("torchvision GFLOPS", fam.rounded(
                gflops * 1e9, 0.0005e9, f"torchvision ConvNeXt_{variant.title()}_Weights."
                "IMAGENET1K_V1 meta _ops", "multiply-adds, billions (3 decimals)")),
        )
    return fam.Reference(
        paper=CONVNEXT_PAPER, input_shape=(224, 224, 3),
        params=fam.exact(params, fam.KERAS.format(keras_name), fam.KERAS_PARAMS),
        trainable_params=fam.exact(params, fam.KERAS.format(keras_name), fam.TRAINABLE),
        depth=fam.exact(depth, f"derived: weight_depth of keras.applications {keras_name}",
                        fam.DEPTH),
        macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name) + " at 224x224"),
        others=others)


def _entry(variant, builder):
    return fam.ModelEntry(
        name=f"convnext_{variant}", title=f"ConvNeXt-{_LETTER[variant]}", builder=builder,
        default_size=224, imagenet=_imagenet(variant), reference=_reference(variant),
        keras_name=_KERAS_NAME[variant], pretrained=_pretrained(variant),
        torch_layout=(_torch_layout(variant, f"convnext_{variant}")
                      if variant in TORCHVISION_WEIGHTS else None))


FAMILY = fam.Family(
    name="convnext",
    title="ConvNeXt",
    paper=CONVNEXT_PAPER,
    url="https://arxiv.org/abs/2201.03545",
    models=(_entry("tiny", ConvNeXtTiny), _entry("small", ConvNeXtSmall),
            _entry("base", ConvNeXtBase), _entry("large", ConvNeXtLarge),
            _entry("xlarge", ConvNeXtXLarge)),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="none: the models normalize pixels in [0, 255] with ImageNet's mean and "
                  "standard deviation themselves (include_preprocessing=True); "
                  "preprocess_input is a pass-through",
    blocks=("convnext_block",),
    estimate=estimate,
)
