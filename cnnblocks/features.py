"""Feature extraction: a model's stage outputs C2..C5 (strides 4, 8, 16, 32) as one dict-output
model, the input of detection and segmentation heads (FPN, U-Net decoders, Grad-CAM taps).

The rule: `Ck` is the last layer of the network's trunk (the layers every input-to-output path
passes through) whose output is at stride `2**k`: the richest features at that resolution, just
before the next downsampling.

Where the taps come from:

- a cnnblocks architecture records its taps when it is built (its family module says where
  they are; they travel with the model through `.keras` files), e.g. ResNet's
  `conv2_block3_out`, VGG's `block3_conv3`, GoogLeNet's `conv2_norm2`;
- any other model (keras.applications, your own) gets them from its structure: the trunk
  layers and their strides, found from the layer shapes. keras.applications VGG, ResNet,
  Xception and InceptionV3 get the same layers as cnnblocks' models of the same name.

Sizes at the ImageNet resolution: VGG, ResNet and GoogLeNet (224) give 56, 28, 14, 7. Xception
(299; "valid" stem convolutions and "same" pools) gives 74, 37, 19, 10. InceptionV3 (299; "valid"
convolutions and pools: 299 -> 149 -> 147 -> 73 -> 71 -> 35 -> 17 -> 8) gives 71, 35, 17, 8.
"""

import keras

from cnnblocks import _graph, grouping, identity
from cnnblocks import graph as graphs

#: Output stride of each stage.
STAGE_STRIDES = {"C1": 2, "C2": 4, "C3": 8, "C4": 16, "C5": 32}
#: The stages `feature_extractor` returns by default.
DEFAULT_STAGES = ("C2", "C3", "C4", "C5")


def _spatial(shape, data_format):
    return shape[1:-1] if data_format == "channels_last" else shape[2:]


def _strides(calls):
    """The effective stride of each call's output: the product of the strides of the layers
    on its longest-stride path from the input (from the layers' configs, so any input size
    works); None for outputs without a spatial grid (after global pooling or `Flatten`)."""
    result = []
    for call in calls:
        parents = [result[p] for p in call.parents]
        if not call.parents:
            result.append(1)
        elif any(p is None for p in parents) or len(call.output_shapes[0]) != 4:
            result.append(None)
        else:
            stride = getattr(call.op, "strides", None)
            if isinstance(stride, (list, tuple)) and stride:
                own = int(stride[0])
            elif isinstance(stride, int):
                own = stride
            else:
                own = 1
            result.append(max(parents) * own)
    return result


def _structural_taps(model):
    """`{stage: layer name}` from the trunk's strides (see the module docstring): layers of
    the model itself (a tap is a layer `model.get_layer` finds), not of a model nested in it."""
    calls = graphs.resolve(model).calls
    strides = _strides(calls)
    taps = {}
    for i in grouping.trunk([c.parents for c in calls]):
        op = calls[i].op
        if strides[i] is None or calls[i].path or not calls[i].is_layer or isinstance(
                op, (keras.layers.InputLayer, keras.layers.ZeroPadding2D)):
            continue
        for stage, stride in STAGE_STRIDES.items():
            if stride == strides[i]:
                taps[stage] = op.name
    return taps


def stage_layers(model):
    """`{stage: layer name}` of `model`: its recorded taps, else the structural ones."""
    record = identity.model_record(model) or {}
    names = {layer.name for layer in model.layers}
    recorded = {k: v for k, v in (record.get("taps") or {}).items() if v in names}
    found = _structural_taps(model)
    found.update(recorded)
    return found


def feature_info(model, stages=None):
    """Per stage: `{"stage", "layer", "channels", "reduction"}` (timm's `feature_info`).

    Args:
        model: a functional `keras.Model`.
        stages: None (`C2`..`C5`, those the model has) or a list of stage names.
    """
    taps = stage_layers(model)
    stages = _check_stages(stages, taps, model)
    axis = -1 if keras.config.image_data_format() == "channels_last" else 1
    info = []
    for stage in stages:
        layer = model.get_layer(taps[stage])
        info.append({"stage": stage, "layer": layer.name,
                     "channels": int(layer.output.shape[axis]),
                     "reduction": STAGE_STRIDES[stage]})
    return info


def _check_stages(stages, taps, model, out_indices=None):
    if out_indices is not None:
        if stages is not None:
            raise ValueError("Give `stages` or `out_indices`, not both; received "
                             f"stages={stages!r}, out_indices={out_indices!r}.")
        if isinstance(out_indices, (str, bytes)) or not isinstance(out_indices, (list, tuple)):
            raise TypeError("`out_indices` must be a list of stage numbers (1-5, for C1-C5); "
                            f"received {out_indices!r}.")
        bad = [i for i in out_indices if isinstance(i, bool) or i not in (1, 2, 3, 4, 5)]
        if bad or not out_indices:
            raise ValueError("`out_indices` must hold stage numbers 1-5 (C1-C5); received "
                             f"{out_indices!r}.")
        stages = [f"C{i}" for i in out_indices]
    if stages is None:
        stages = [s for s in DEFAULT_STAGES if s in taps]
    if isinstance(stages, str) or not isinstance(stages, (list, tuple)) or not stages:
        raise TypeError("`stages` must be None or a non-empty list of stage names "
                        f"{list(STAGE_STRIDES)}; received {stages!r}.")
    unknown = [s for s in stages if s not in STAGE_STRIDES]
    if unknown:
        raise ValueError(f"`stages` must be among {list(STAGE_STRIDES)}; received {stages!r} "
                         f"(unknown: {unknown!r}).")
    missing = [s for s in stages if s not in taps]
    if missing:
        raise ValueError(
            f"feature_extractor cannot find stage(s) {missing} in model {model.name!r}: no "
            f"layer on its trunk has output stride {[STAGE_STRIDES[s] for s in missing]} "
            f"(stages found: {taps or 'none'}).")
    return list(stages)


def feature_extractor(model, stages=None, *, out_indices=None, name=None):
    """A model with the same inputs whose outputs are the named stage outputs `{"C2": ...}`.

    The extractor shares its layers (and weights) with `model`: freezing or training one
    changes the other. `feature_info(model)` gives the channels and stride of each stage.

    Args:
        model: a functional `keras.Model` (a cnnblocks architecture, a keras.applications
            model, your own).
        stages: None (all of `"C2"` ... `"C5"` the model has) or a list of stage names, e.g.
            `["C3", "C4", "C5"]` for an FPN.
        out_indices: alternatively, stage numbers as timm gives them (`(2, 3, 4)` means
            C2, C3, C4).
        name: the new model's name. Default `"<model name>_features"`.

    Returns:
        A `keras.Model` whose output is a dict `{stage: tensor}`; stage `Ck` has spatial size
        about input / 2**k.

    Raises:
        TypeError: `model` is not a keras.Model, or `stages` is not a list of stage names.
        ValueError: unknown stage, or a stage the model does not have.

    Example:
        >>> import cnnblocks
        >>> backbone = cnnblocks.ResNet50(weights=None, include_top=False,
        ...                               input_shape=(64, 64, 3))
        >>> features = cnnblocks.feature_extractor(backbone)
        >>> {k: tuple(v.shape) for k, v in features.output.items()}["C5"]
        (None, 2, 2, 2048)
    """
    _graph.functional_graph(model)
    taps = stage_layers(model)
    stages = _check_stages(stages, taps, model, out_indices)
    outputs = {stage: model.get_layer(taps[stage]).output for stage in stages}
    return keras.Model(model.inputs, outputs, name=name or f"{model.name}_features")
