"""Feature extraction: a model's stage outputs C2..C5 (strides 4, 8, 16, 32) as one dict-output
model, the input of detection and segmentation heads (FPN, U-Net decoders, Grad-CAM taps).

The rule: `Ck` is the last layer of the network's trunk whose output is at stride `2**k` (the
richest features at that resolution, just before the next downsampling). Per family, by the
layer names of `cnnblocks` (which are keras.applications' names where it has the model):

    family       C2 (stride 4)       C3 (stride 8)        C4 (stride 16)       C5 (stride 32)
    VGG          block3_conv{last}   block4_conv{last}    block5_conv{last}    block5_pool
    ResNet       conv2_block{N}_out  conv3_block{N}_out   conv4_block{N}_out   conv5_block{N}_out
    Xception     block2_add          block3_add           block12_add          block14_sepconv2_act
    InceptionV3  conv5_relu          mixed2               mixed7               mixed10
    GoogLeNet    conv2_norm2 (¹)     inception_3b_concat  inception_4e_concat  inception_5b_concat

({last}, {N}: the last convolution of the block, the last module of the stage.)
(¹) `conv2_3x3_relu` with `normalization="batchnorm"`, `conv2_3x3` with `normalization=None`.

Sizes at the ImageNet resolution: VGG, ResNet and GoogLeNet (224) give 56, 28, 14, 7. Xception
(299; "valid" stem convolutions and "same" pools) gives 74, 37, 19, 10. InceptionV3 (299; "valid"
convolutions and pools: 299 -> 149 -> 147 -> 73 -> 71 -> 35 -> 17 -> 8) gives 71, 35, 17, 8: its
C2 is the 3x3 convolution after the first pool (71x71x192, torchvision's and timm's
`Conv2d_4a_3x3`), the last layer before the 35x35 grid.
"""

import re

import keras

#: Stage patterns per family: `Ck` is the last layer (in the model's topological order) whose
#: name fully matches the pattern. A family is recognised when all four patterns match; the
#: model's own name is never consulted.
FEATURE_STAGES = {
    "vgg": {"C2": r"block3_conv\d+", "C3": r"block4_conv\d+", "C4": r"block5_conv\d+",
            "C5": r"block5_pool"},
    "resnet": {"C2": r"conv2_block\d+_out", "C3": r"conv3_block\d+_out",
               "C4": r"conv4_block\d+_out", "C5": r"conv5_block\d+_out"},
    "xception": {"C2": r"block2_add", "C3": r"block3_add", "C4": r"block12_add",
                 "C5": r"block14_sepconv2_act"},
    "inception_v3": {"C2": r"conv5_relu", "C3": r"mixed2", "C4": r"mixed7", "C5": r"mixed10"},
    "googlenet": {"C2": r"conv2_norm2|conv2_3x3_relu|conv2_3x3", "C3": r"inception_3b_concat",
                  "C4": r"inception_4e_concat", "C5": r"inception_5b_concat"},
}

#: Output stride of each stage.
STAGE_STRIDES = {"C2": 4, "C3": 8, "C4": 16, "C5": 32}


def _stage_layers(model):
    """`{family: {stage: layer}}` for every family whose four patterns all match."""
    found = {}
    for family, stages in FEATURE_STAGES.items():
        picked = {}
        for stage, pattern in stages.items():
            matches = [layer for layer in model.layers if re.fullmatch(pattern, layer.name)]
            if not matches:
                break
            picked[stage] = matches[-1]
        else:
            found[family] = picked
    return found


def model_family(model):
    """Returns the family of a cnnblocks model (`"vgg"`, `"resnet"`, `"xception"`,
    `"inception_v3"` or `"googlenet"`), found from its layer names, or None."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {model!r} "
                        f"(type {type(model).__name__}).")
    found = _stage_layers(model)
    return next(iter(found)) if len(found) == 1 else None


def feature_extractor(model, stages=None, *, name=None):
    """A model with the same inputs whose outputs are the named stage outputs `{"C2": ...}`.

    The stages are found from layer names (table in the module docstring,
    `cnnblocks.features.FEATURE_STAGES`), so the model may have a top or not, any input size,
    and be a cnnblocks model or a keras.applications VGG16/VGG19/ResNet (same layer names).
    The extractor shares its layers (and weights) with `model`: freezing or training one
    changes the other.

    Args:
        model: a functional `keras.Model` of the VGG, ResNet, Xception, InceptionV3 or
            GoogLeNet family.
        stages: None (all of `"C2"`, `"C3"`, `"C4"`, `"C5"`) or a list of some of them, e.g.
            `["C3", "C4", "C5"]` for an FPN.
        name: the new model's name. Default `"<model name>_features"`.

    Returns:
        A `keras.Model` whose output is a dict `{stage: tensor}`; stage `Ck` has spatial size
        about input / 2**k (exactly per family: see the module docstring).

    Raises:
        TypeError: `model` is not a keras.Model, or `stages` is not a list of stage names.
        ValueError: the model's layer names fit no family (the message lists the layer names
            expected per family), or an unknown stage name.

    Example:
        >>> import cnnblocks
        >>> backbone = cnnblocks.ResNet50(include_top=False, input_shape=(64, 64, 3))
        >>> features = cnnblocks.feature_extractor(backbone)
        >>> {k: tuple(v.shape) for k, v in features.output.items()}["C5"]
        (None, 2, 2, 2048)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"`model` must be a keras.Model, received {model!r} "
                        f"(type {type(model).__name__}).")
    if stages is None:
        stages = tuple(STAGE_STRIDES)
    if isinstance(stages, str) or not isinstance(stages, (list, tuple)) or not stages:
        raise TypeError("`stages` must be None or a non-empty list of stage names "
                        f"{list(STAGE_STRIDES)}; received {stages!r}.")
    unknown = [s for s in stages if s not in STAGE_STRIDES]
    if unknown:
        raise ValueError(f"`stages` must be among {list(STAGE_STRIDES)}; received {stages!r} "
                         f"(unknown: {unknown!r}).")
    found = _stage_layers(model)
    if len(found) != 1:
        expected = "; ".join(f"{family}: " + ", ".join(f"{s}={p!r}" for s, p in pats.items())
                             for family, pats in FEATURE_STAGES.items())
        if found:
            problem = f"its layer names fit several families ({', '.join(found)})"
        else:
            problem = "its layer names fit no known family"
        raise ValueError(
            f"feature_extractor cannot find the stages of model {model.name!r}: {problem}. "
            f"Expected layer names (regular expressions, all four of one family): {expected}. "
            f"The model has {len(model.layers)} layers, e.g. "
            f"{[layer.name for layer in model.layers[:6]]}.")
    (layers_by_stage,) = found.values()
    try:
        inputs = model.inputs
        outputs = {stage: layers_by_stage[stage].output for stage in stages}
    except (AttributeError, ValueError) as err:
        raise ValueError(f"`model` must be a functional model (its layers called on Keras "
                         f"inputs); {model.name!r} is not ({type(err).__name__}: {err})."
                         ) from None
    return keras.Model(inputs, outputs, name=name or f"{model.name}_features")
