"""SqueezeNet 1.0 and 1.1 (Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer
parameters and <0.5MB model size", 2016, https://arxiv.org/abs/1602.07360), built from
`cnnblocks.blocks.fire_module`.

SqueezeNet 1.0 is the paper's Table 1; 1.1 is the revision of the authors' repository
(forresti/SqueezeNet, "SqueezeNet_v1.1": a 3x3/2 first convolution with 64 filters and the max
pools moved earlier, 2.4x fewer multiply-adds, the same accuracy), which torchvision ships as
`squeezenet1_1`. Parameter counts equal torchvision's (1,248,424 and 1,235,496). Everything about
the family is in this module.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act, fire_module
from cnnblocks.blocks.squeezenet import fire_module_cost

__all__ = ["SqueezeNet1_0", "SqueezeNet1_1"]

#: The networks as data: the first convolution `(name, filters, kernel, stride)`, then rows that
#: are a fire module `(name, s1x1, e1x1, e3x3)` or the name of a 3x3/2 ceil-mode max pool.
#: Output sizes (comments) at the paper's 227x227 input; at 224 they are 109, 54, 27, 13.
SQUEEZENET_SPECS = {
    "1_0": (("conv1", 96, 7, 2), (            # 111x111x96 (Table 1)
        "maxpool1",                           # 55x55x96
        ("fire2", 16, 64, 64),                # 55x55x128
        ("fire3", 16, 64, 64),                # 55x55x128
        ("fire4", 32, 128, 128),              # 55x55x256
        "maxpool4",                           # 27x27x256
        ("fire5", 32, 128, 128),              # 27x27x256
        ("fire6", 48, 192, 192),              # 27x27x384
        ("fire7", 48, 192, 192),              # 27x27x384
        ("fire8", 64, 256, 256),              # 27x27x512
        "maxpool8",                           # 13x13x512
        ("fire9", 64, 256, 256),              # 13x13x512
    )),
    "1_1": (("conv1", 64, 3, 2), (            # 113x113x64
        "maxpool1",                           # 56x56x64
        ("fire2", 16, 64, 64),                # 56x56x128
        ("fire3", 16, 64, 64),                # 56x56x128
        "maxpool3",                           # 28x28x128
        ("fire4", 32, 128, 128),              # 28x28x256
        ("fire5", 32, 128, 128),              # 28x28x256
        "maxpool5",                           # 14x14x256
        ("fire6", 48, 192, 192),              # 14x14x384
        ("fire7", 48, 192, 192),              # 14x14x384
        ("fire8", 64, 256, 256),              # 14x14x512
        ("fire9", 64, 256, 256),              # 14x14x512
    )),
}

#: Feature taps: the last fire module at strides 4, 8 and 16 (SqueezeNet stops at 16).
_TAPS = {"1_0": {"fire4": "C2", "fire8": "C3", "fire9": "C4"},
         "1_1": {"fire3": "C2", "fire5": "C3", "fire9": "C4"}}


def _trunk(version):
    """conv1 (+ ReLU), then fire modules and ceil-mode max pools."""
    def body(x, ctx):
        (name, filters, kernel, stride), rows = SQUEEZENET_SPECS[version]
        x = conv_bn_act(x, filters, kernel, strides=stride, padding="valid", batch_norm=False,
                        data_format=ctx.data_format, name=name, suffixes=("", "", ""))
        for row in rows:
            if isinstance(row, str):
                # Caffe's and torchvision's ceil-mode 3x3/2 pool is a "valid" pool after one
                # row and column of zeros at the bottom and right: the same windows, and the
                # zeros never win because the input is a ReLU's output (>= 0).
                x = common.max_pool_region(x, row, ctx, pad=((0, 1), (0, 1)), pool_name=row)
                continue
            block, squeeze, e1, e3 = row
            x = fire_module(x, squeeze, e1, e3, data_format=ctx.data_format, name=block)
            if block in _TAPS[version]:
                ctx.tap(_TAPS[version][block], x)
        return x
    return body


def _head(x, ctx):
    """drop9 (50%), conv10 (1x1, `classes` filters, ReLU), global average pool, activation."""
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    x = layers.Dropout(0.5, name="drop9")(x)
    x = conv_bn_act(x, ctx.classes, 1, batch_norm=False, data_format=ctx.data_format,
                    name="conv10", suffixes=("", "", ""))
    x = layers.GlobalAveragePooling2D(data_format=ctx.data_format, name="avg_pool")(x)
    return layers.Activation(ctx.classifier_activation or "linear", name="predictions")(x)


def _build(version, **kwargs):
    return common.build(FAMILY.model(f"squeezenet{version}"), _trunk(version), head=_head,
                        min_size=32, **kwargs)


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of SqueezeNet 1.0 or 1.1
    (`point`, its `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)` (one
    structure, "torchvision"), walked layer by layer as `_trunk` and `_head` build them,
    without building anything."""
    if variant is not None:
        check.choice(variant, "variant", point.variants)
    (_, filters, kernel, stride), rows = SQUEEZENET_SPECS[point.name[len("squeezenet"):]]
    tally = cost.Tally(input_shape)
    tally.conv(filters, kernel, stride, bias=True)              # conv1 (ReLU fused)
    tally.stage("stem")
    for row in rows:
        if isinstance(row, str):
            tally.pad(((0, 1), (0, 1)))                         # maxpool{i}_pad
            tally.pool(3, 2)                                    # maxpool{i}
        else:
            fire_module_cost(tally, *row[1:])                   # fire{i}
            tally.stage(row[0])
    if include_top:
        tally.elementwise()                                     # drop9
        tally.conv(classes, 1, bias=True)                       # conv10 (ReLU fused)
        tally.global_pool()                                     # avg_pool
        tally.elementwise()                                     # predictions (Activation)
    elif pooling is not None:
        tally.global_pool()                                     # avg_pool or max_pool
    return tally.result()


def _torch_layout(version):
    """Keras layer -> torchvision module: `features.{i}` in the order of the layer list
    (`features.0` conv1, `features.1` its ReLU, then one index per pool or fire module, whose
    convolutions are `.squeeze`, `.expand1x1`, `.expand3x3`), `classifier.1` conv10."""
    (conv, *_), rows = SQUEEZENET_SPECS[version]
    found = {conv: "features.0", "conv10": "classifier.1"}
    for index, row in enumerate(rows, start=2):
        if isinstance(row, str):
            continue
        for ours, theirs in (("squeeze1x1", "squeeze"), ("expand1x1", "expand1x1"),
                             ("expand3x3", "expand3x3")):
            found[f"{row[0]}_{ours}"] = f"features.{index}.{theirs}"
    return fam.TorchLayout(found)


def SqueezeNet1_0(include_top=True, weights=None, input_tensor=None, input_shape=None,
                  pooling=None, classes=1000, classifier_activation="softmax",
                  name="squeezenet1_0", *, variant="torchvision"):
    """SqueezeNet 1.0, the network of the paper's Table 1 (1,248,424 parameters).

    conv1 7x7/2 with 96 filters + ReLU, max pool, fire2-fire4, max pool, fire5-fire8, max
    pool, fire9; head: 50% dropout, conv10 (1x1 to `classes` + ReLU), global average pooling.
    The 3x3/2 max pools are ceil-mode (Caffe, torchvision): 224 -> 109 -> 54 -> 27 -> 13, and
    the paper's 111, 55, 27, 13 at its 227x227 crop.

    Args:
        include_top: bool, add dropout, conv10 and the global average pool. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights: from the Keras cache, checked against the hash in their URL, downloaded
            when missing, converted on load) or the path of a weight file (Keras, or a PyTorch
            `.pth`/`.safetensors` state dict); no ImageNet file in keras.applications' format
            exists, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes (conv10's filters), at most 1,000,000. Default 1000.
        classifier_activation: activation after the global pool (`predictions`). Default
            `"softmax"`; None gives the pooled conv10 scores.
        name: model name. Default `"squeezenet1_0"`.
        variant: `"torchvision"`, the only structure: torchvision's `squeezenet1_0`, which
            its weights fit (the paper's network; keras.applications has none).

    Returns:
        A `keras.Model` with 1,248,424 parameters at the defaults; without a top, the fire9
        map: 512 channels at 1/16 of the input size (rounded as above).

    Note:
        - The classifier is the paper's: a 1x1 convolution with a ReLU, then global average
          pooling; `predictions` is a separate activation layer (softmax) on the pooled scores.
        - Ceil-mode pooling is written as a zero padding of one row and column (bottom, right)
          before a "valid" pool: exact here because every pool follows a ReLU.

    Example:
        >>> from cnnblocks import SqueezeNet1_0
        >>> model = SqueezeNet1_0(include_top=False, input_shape=(224, 224, 3))
        >>> tuple(model.output.shape)
        (None, 13, 13, 512)
    """
    return _build("1_0", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def SqueezeNet1_1(include_top=True, weights=None, input_tensor=None, input_shape=None,
                  pooling=None, classes=1000, classifier_activation="softmax",
                  name="squeezenet1_1", *, variant="torchvision"):
    """SqueezeNet 1.1, the authors' revision (1,235,496 parameters, 2.4x fewer multiply-adds).

    conv1 3x3/2 with 64 filters + ReLU, max pool, fire2-fire3, max pool, fire4-fire5, max pool,
    fire6-fire9; the head of SqueezeNet 1.0. Sizes at 224: 111 -> 55 -> 27 -> 13.

    Args:
        include_top: bool, add dropout, conv10 and the global average pool. Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights: from the Keras cache, checked against the hash in their URL, downloaded
            when missing, converted on load) or the path of a weight file (Keras, or a PyTorch
            `.pth`/`.safetensors` state dict); no ImageNet file in keras.applications' format
            exists, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 32x32; must be static with a top.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes (conv10's filters), at most 1,000,000. Default 1000.
        classifier_activation: activation after the global pool. Default `"softmax"`.
        name: model name. Default `"squeezenet1_1"`.
        variant: `"torchvision"`, the only structure: torchvision's `squeezenet1_1`, which
            its weights fit.

    Returns:
        A `keras.Model` with 1,235,496 parameters at the defaults; without a top, the fire9
        map: 512 channels at 1/16 of the input size.

    Note:
        Not in the paper: the structure is the authors' SqueezeNet_v1.1 release (and
        torchvision's `squeezenet1_1`); the fire modules are the paper's.

    Example:
        >>> from cnnblocks import SqueezeNet1_1
        >>> model = SqueezeNet1_1(include_top=False, input_shape=(224, 224, 3))
        >>> tuple(model.output.shape)
        (None, 13, 13, 512)
    """
    return _build("1_1", include_top=include_top, weights=weights, input_tensor=input_tensor,
                  input_shape=input_shape, pooling=pooling, classes=classes,
                  classifier_activation=classifier_activation, name=name, variant=variant)


def preprocess_input(x, data_format=None):
    """Preprocesses RGB images in [0, 255] for SqueezeNet: torchvision's normalisation (scaled
    to [0, 1], ImageNet mean and std per channel), as the published torchvision weights
    expect."""
    return preprocessing.preprocess(x, "torch", data_format)


decode_predictions = preprocessing.decode_predictions


# --- Published numbers ----------------------------------------------------------------------
PAPER = ("Iandola et al., SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and "
         "<0.5MB model size, 2016")
TABLE1 = "Iandola et al. 2016, Table 1"
_COMPUTED = ("= Table 1's '# parameter before pruning' column; the conv and fire rows recomputed "
             "from its filter counts: (k k c + 1) f per convolution")


def _conv(k, c, f):
    return (k * k * c + 1) * f


def _fire(c, s, e1, e3):
    return _conv(1, c, s) + _conv(1, s, e1) + _conv(3, s, e3)


def _table():
    """Table 1 of the paper (SqueezeNet 1.0 at 227x227): output, filter, s1x1/e1x1/e3x3 and the
    parameters before pruning (exact counts)."""
    rows = [fam.PaperRow("conv1", "conv1", "111x111x96", params=fam.exact(_conv(7, 3, 96), TABLE1),
                         columns={"filter size / stride": "7x7/2 (x96)", "depth": 1}),
            fam.PaperRow("maxpool1", "maxpool1", "55x55x96",
                         columns={"filter size / stride": "3x3/2", "depth": 0})]
    c = 96
    outputs = {"fire2": "55x55x128", "fire3": "55x55x128", "fire4": "55x55x256",
               "fire5": "27x27x256", "fire6": "27x27x384", "fire7": "27x27x384",
               "fire8": "27x27x512", "fire9": "13x13x512"}
    for row in SQUEEZENET_SPECS["1_0"][1]:
        if isinstance(row, str):
            if row != "maxpool1":
                size = "27x27x256" if row == "maxpool4" else "13x13x512"
                rows.append(fam.PaperRow(row, row, size,
                                         columns={"filter size / stride": "3x3/2", "depth": 0}))
            continue
        name, s, e1, e3 = row
        rows.append(fam.PaperRow(name, name, outputs[name],
                                 params=fam.exact(_fire(c, s, e1, e3), TABLE1),
                                 columns={"depth": 2, "s1x1": s, "e1x1": e1, "e3x3": e3}))
        c = e1 + e3
    rows.append(fam.PaperRow("conv10, avgpool10", "head", "1x1x1000",
                             params=fam.exact(_conv(1, 512, 1000), TABLE1),
                             columns={"filter size / stride": "1x1/1 (x1000); 13x13/1",
                                      "depth": 1}))
    rows.append(fam.PaperRow("total", None, params=fam.exact(1_248_424, TABLE1)))
    return tuple(rows)


def _reference(version):
    total, gflops, depth_note = {
        "1_0": (1_248_424, 0.819, "conv1 + 8 fire modules x 2 (squeeze, 3x3 expand) + conv10"),
        "1_1": (1_235_496, 0.349, "the same layers as 1.0"),
    }[version]
    tv = fam.TORCHVISION.format(f"squeezenet{version}: {total:,} params, {gflops} GFLOPS")
    return fam.Reference(
        paper=PAPER,
        input_shape=(224, 224, 3),
        params=fam.exact(total, (TABLE1 + " total; " if version == "1_0" else "") + tv,
                         "conv biases, no BN"),
        trainable_params=fam.exact(total, tv, "all parameters trainable"),
        depth=fam.exact(18, f"derived: {depth_note} = 18 weight layers", fam.DEPTH),
        macs=fam.measured_macs(int(gflops * 1e9), tv + " at 224x224"),
        table=_table() if version == "1_0" else (),
        table_source=TABLE1 + " (at its 227x227 input)" if version == "1_0" else "",
        table_input=(227, 227, 3) if version == "1_0" else None,
    )


#: torchvision's ImageNet weights (torchvision/models/squeezenet.py, `SqueezeNet1_{0,1}_Weights.
#: IMAGENET1K_V1`, torchvision 0.28): file (its name carries the SHA-256 prefix torch hub
#: checks), acc@1, acc@5, num_params, _file_size (MB); crop 224, resize 256, bilinear.
_TORCHVISION = {
    "1_0": ("squeezenet1_0-b66bff10.pth", 58.092, 80.420, 1_248_424, 4.778),
    "1_1": ("squeezenet1_1-b8a52dc0.pth", 58.178, 80.624, 1_235_496, 4.729),
}


def _pretrained(version):
    filename, top1, top5, params, size = _TORCHVISION[version]
    return {"torchvision": fam.torchvision_weights(
        filename, f"SqueezeNet{version}_Weights.IMAGENET1K_V1", top1=top1, top5=top5,
        num_params=params, file_size_mb=size)}


FAMILY = fam.Family(
    name="squeezenet",
    title="SqueezeNet",
    paper=PAPER,
    url="https://arxiv.org/abs/1602.07360",
    models=(
        fam.ModelEntry(name="squeezenet1_0", title="SqueezeNet 1.0", builder=SqueezeNet1_0,
                       default_size=224, reference=_reference("1_0"),
                       variants=(fam.TORCHVISION_VARIANT,), pretrained=_pretrained("1_0"),
                       torch_layout=_torch_layout("1_0")),
        fam.ModelEntry(name="squeezenet1_1", title="SqueezeNet 1.1", builder=SqueezeNet1_1,
                       default_size=224, reference=_reference("1_1"),
                       variants=(fam.TORCHVISION_VARIANT,), pretrained=_pretrained("1_1"),
                       torch_layout=_torch_layout("1_1")),
    ),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean/std per RGB channel (torchvision)",
    blocks=("conv_bn_act", "fire_module"),
    estimate=estimate,
)
