"""AlexNet (Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012): torchvision's single-tower variant (the default) and, as an option,
the two-group network of the 2012 paper with local response normalization.

torchvision's `alexnet` is the one-GPU network of Krizhevsky's "One weird trick for
parallelizing convolutional neural networks" (2014): 64, 192, 384, 256, 256 filters, no
grouping, no LRN, an adaptive 6x6 average pool before the classifier. `variant="paper"` builds
the 2012 network of Figure 2 and section 3.5: 96, 256, 384, 384, 256 filters, conv2, conv4 and
conv5 in two groups (the two GPUs), LRN after the first two convolutions. keras.applications
has no AlexNet; layer names are Caffe's (`conv1` ... `conv5`, `pool1`, `norm1`, `fc6`, `fc7`),
with `predictions` for fc8 as everywhere in cnnblocks. Everything about the family is in this
module.
"""

from keras import layers

from cnnblocks import _validation as check
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import conv_bn_act
from cnnblocks.layers import AdaptiveAveragePooling2D, LocalResponseNormalization

__all__ = ["AlexNet"]

#: The structures `variant=` builds: torchvision's (the default; its weights fit it) and the
#: 2012 paper's.
VARIANTS = (fam.TORCHVISION_VARIANT, "paper")

#: The layer lists: ("conv", name, filters, kernel, stride, padding, groups, lrn after),
#: ("pool", name) for a 3x3/2 "valid" max pool. Padding is an int (explicit symmetric zero
#: padding, as PyTorch pads the 11x11/4 convolution) or "same" (stride 1: symmetric too).
#: Output sizes at 224x224 in the comments.
ALEXNET_SPECS = {
    # torchvision.models.alexnet (features): Conv2d(3, 64, 11, 4, 2), MaxPool2d(3, 2),
    # Conv2d(64, 192, 5, padding=2), MaxPool2d(3, 2), Conv2d(192, 384, 3, padding=1),
    # Conv2d(384, 256, 3, padding=1), Conv2d(256, 256, 3, padding=1), MaxPool2d(3, 2).
    "torchvision": (
        ("conv", "conv1", 64, 11, 4, 2, 1, False),     # 55x55x64
        ("pool", "pool1"),                             # 27x27x64
        ("conv", "conv2", 192, 5, 1, "same", 1, False),  # 27x27x192
        ("pool", "pool2"),                             # 13x13x192
        ("conv", "conv3", 384, 3, 1, "same", 1, False),  # 13x13x384
        ("conv", "conv4", 256, 3, 1, "same", 1, False),  # 13x13x256
        ("conv", "conv5", 256, 3, 1, "same", 1, False),  # 13x13x256
        ("pool", "pool5"),                             # 6x6x256
    ),
    # Krizhevsky et al. 2012, section 3.5 and Figure 2 (two GPUs = two groups): conv1 96
    # kernels 11x11x3 stride 4; conv2 256 kernels 5x5x48; conv3 384 kernels 3x3x256 (across
    # GPUs); conv4 384 kernels 3x3x192; conv5 256 kernels 3x3x192; LRN after conv1 and conv2,
    # max pools after the two LRNs and conv5.
    "paper": (
        ("conv", "conv1", 96, 11, 4, 2, 1, True),      # 55x55x96
        ("pool", "pool1"),                             # 27x27x96
        ("conv", "conv2", 256, 5, 1, "same", 2, True),   # 27x27x256
        ("pool", "pool2"),                             # 13x13x256
        ("conv", "conv3", 384, 3, 1, "same", 1, False),  # 13x13x384
        ("conv", "conv4", 384, 3, 1, "same", 2, False),  # 13x13x384
        ("conv", "conv5", 256, 3, 1, "same", 2, False),  # 13x13x256
        ("pool", "pool5"),                             # 6x6x256
    ),
}
#: The fully connected layers fc6, fc7 (ReLU), then the classifier.
FC_UNITS = 4096
#: torchvision's adaptive average pool before the classifier: 6x6.
POOL_OUTPUT = 6
#: LRN of the paper (section 3.3): k = 2, n = 5, alpha = 1e-4, beta = 0.75, where the paper's
#: alpha multiplies the sum of squares undivided; `LocalResponseNormalization` divides alpha
#: by the window size (Caffe's convention), hence alpha = 5 x 1e-4 here.
PAPER_LRN = dict(size=5, alpha=5e-4, beta=0.75, k=2.0)


#: Feature taps: the last layer at strides 4, 8 and 16 (55, 27, 13 at 224): conv1, conv2 and
#: conv5 (or their LRN); C5 is pool5 (6x6).
_TAPS = {"conv1": "C2", "conv2": "C3", "conv5": "C4"}


def _trunk(x, ctx):
    """The layer list of the variant: conv (`conv_bn_act` blocks, ReLU fused, with bias),
    LRN regions (`norm1`, `norm2`, paper variant) and max-pool regions."""
    for row in ALEXNET_SPECS[ctx.variant]:
        if row[0] == "pool":
            x = common.max_pool_region(x, row[1], ctx, pool_name=row[1])
            continue
        _, name, filters, kernel, stride, padding, groups, lrn = row
        x = conv_bn_act(x, filters, kernel, strides=stride, padding=padding, groups=groups,
                        batch_norm=False, data_format=ctx.data_format, name=name,
                        suffixes=("", "", ""))
        if lrn:
            norm = name.replace("conv", "norm")
            with identity.region(x, "lrn", norm, args=dict(PAPER_LRN), label="LRN") as r:
                x = r.done(LocalResponseNormalization(**PAPER_LRN, axis=ctx.axis,
                                                      name=norm)(x))
        if name in _TAPS:
            ctx.tap(_TAPS[name], x)
    ctx.tap("C5", x)
    return x


def _head(x, ctx):
    """torchvision: adaptive 6x6 average pool, flatten, dropout, fc6 (ReLU), dropout, fc7
    (ReLU), predictions. Paper: flatten, fc6, dropout, fc7, dropout, predictions. Without a
    top: global pooling as `pooling` says."""
    if not ctx.include_top:
        return common.global_pooling(x, ctx)
    rate, paper = ctx.options["dropout"], ctx.variant == "paper"
    if not paper:
        x = AdaptiveAveragePooling2D(POOL_OUTPUT, data_format=ctx.data_format,
                                     name="adaptive_pool")(x)
    x = layers.Flatten(data_format=ctx.data_format, name="flatten")(x)
    for fc in ("fc6", "fc7"):
        drop = layers.Dropout(rate, name=fc.replace("fc", "drop"))
        if not paper:
            x = drop(x)
        x = layers.Dense(FC_UNITS, activation="relu", name=fc)(x)
        if paper:
            x = drop(x)
    return layers.Dense(ctx.classes, activation=ctx.classifier_activation,
                        name="predictions")(x)


#: The smallest input height and width: conv1 (11x11/4 after padding 2) and the three 3x3/2
#: max pools leave 1x1 at 63.
MIN_SIZE = 63


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of AlexNet (`point`, its
    `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)`, at least 63x63 as
    the builder, in `variant`'s structure (None: the builder's default, "torchvision";
    "paper": wider, grouped, with LRN), walked layer by layer as `_trunk` and `_head` build
    them, without building anything."""
    variant, tally = common.estimate_start(point, input_shape, variant, min_size=MIN_SIZE)
    for row in ALEXNET_SPECS[variant]:
        if row[0] == "pool":
            tally.pool(3, 2)                                    # pool1, pool2, pool5
            tally.stage(row[1])
            continue
        _, name, filters, kernel, stride, padding, groups, lrn = row
        if padding == "same":                                   # conv{i} (ReLU fused)
            tally.conv(filters, kernel, stride, groups=groups, bias=True, padding="same")
        else:
            tally.pad(padding)                                  # conv{i}_pad
            tally.conv(filters, kernel, stride, groups=groups, bias=True)
        if lrn:
            tally.elementwise()                                 # norm{i}
    paper = variant == "paper"
    if include_top:
        if not paper:
            tally.adaptive_pool(POOL_OUTPUT)                    # adaptive_pool
        tally.flatten()                                         # flatten
        for _ in ("fc6", "fc7"):
            if not paper:
                tally.elementwise()                             # drop6, drop7 (torchvision)
            tally.dense(FC_UNITS)                               # fc6, fc7 (ReLU fused)
            if paper:
                tally.elementwise()                             # drop6, drop7 (paper)
        tally.dense(classes)                                    # predictions
    elif pooling is not None:
        tally.global_pool()                                     # avg_pool or max_pool
    return tally.result()


def _check_alexnet_args(dropout):
    check.fraction(dropout, "dropout")


def AlexNet(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
            classes=1000, classifier_activation="softmax", variant="torchvision", dropout=0.5,
            name="alexnet"):
    """AlexNet: torchvision's single-tower network, or the two-group network of the paper.

    Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep Convolutional Neural
    Networks", NeurIPS 2012 (section 3, Figure 2); torchvision's variant: Krizhevsky, "One
    weird trick for parallelizing convolutional neural networks", 2014,
    https://arxiv.org/abs/1404.5997. The layers are `ALEXNET_SPECS[variant]`.

    `variant="torchvision"` (default): `conv1_pad` (zero padding 2), `conv1` 11x11/4, 64
    filters; `pool1` max 3x3/2; `conv2` 5x5, 192; `pool2`; `conv3` 3x3, 384; `conv4` 3x3, 256;
    `conv5` 3x3, 256; `pool5` (6x6x256 at 224); head `adaptive_pool` (6x6 average),
    `flatten`, `drop6`, `fc6` (4096), `drop7`, `fc7` (4096), `predictions`. Every
    convolution and fc6/fc7 has a bias and a fused ReLU.

    `variant="paper"`: 96, 256, 384, 384, 256 filters, `conv2`, `conv4`, `conv5` grouped in
    two (`Conv2D(groups=2)`: the two GPUs), `norm1` and `norm2` (LRN) after the ReLUs of conv1
    and conv2, then the pools; head `flatten`, `fc6`, `drop6`, `fc7`, `drop7`, `predictions`.

    Args:
        include_top: bool, add the classifier (adaptive pool with torchvision's variant,
            flatten, fc6, fc7, predictions). Default True.
        weights: None (random initialization), `"torchvision"` (torchvision's ImageNet
            weights, with the torchvision variant: from the Keras cache, checked against the
            hash in their URL, downloaded when missing, converted on load) or the path of a
            weight file (Keras, or a PyTorch `.pth`/`.safetensors` state dict). No ImageNet
            file in keras.applications' format exists, so `"imagenet"` is refused.
        input_tensor: optional Keras tensor to build the model on.
        input_shape: optional (H, W, 3); at least 63x63 (a 1x1 map after pool5); must be
            static with a top. Default (224, 224, 3) with a top, (None, None, 3) without.
        pooling: None, `"avg"` or `"max"` global pooling of the conv5 map when
            `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        variant: `"torchvision"` or `"paper"` (see above). Default `"torchvision"`.
        dropout: float in [0, 1), the dropout rate of fc6 and fc7. Default 0.5 (both).
        name: model name. Default `"alexnet"`.

    Returns:
        A `keras.Model`: 61,100,840 parameters, all trainable (= torchvision's `alexnet`),
        with the torchvision variant; 60,965,224 with the paper's ("60 million parameters").
        Without a top: 256 channels at `(s + 4 - 11) // 4 + 1` then three 3x3/2 pools (6x6 at
        224).

    Note:
        Input size. The paper says 224x224x3 and a 55x55 conv1 output, which an 11x11/4
        convolution gives only with padding; both variants zero-pad 2 (as torchvision), so 224
        gives 55, 27, 13, 6 (Figure 2's sizes). The reference Caffe model instead crops 227x227
        without padding (the same sizes). The classifier of the paper variant needs the 6x6
        map, hence a 224x224 input with a top; torchvision's adaptive pool takes any size.

    Note:
        The paper variant's LRN uses section 3.3's constants k = 2, n = 5, alpha = 1e-4,
        beta = 0.75 in the paper's formula (alpha not divided by n), i.e.
        `LocalResponseNormalization(size=5, alpha=5e-4, beta=0.75, k=2)` (Caffe's
        bvlc_alexnet divides 1e-4 by 5 instead). Dropout follows fc6 and fc7 in the paper
        ("dropout in the first two fully-connected layers") and precedes them in torchvision;
        it only acts in training. The paper's conv3 and the fully connected layers see both
        groups, as here. Overlapping 3x3/2 pooling as in both.

    Note:
        Weight conversion from torchvision (`weights="torchvision"`, `cnnblocks convert`):
        the kernels are transposed (OIHW -> HWIO) and fc6's input rows permuted from PyTorch's
        CHW flattening to Keras' HWC order (`FAMILY` records the module map as a
        `TorchLayout`). Inputs are expected in torch style (`preprocess_input`).

    Example:
        >>> from cnnblocks import AlexNet
        >>> model = AlexNet(include_top=False, input_shape=(224, 224, 3))
        >>> tuple(model.output.shape)
        (None, 6, 6, 256)
        >>> AlexNet(variant="paper").count_params()
        60965224
    """
    return common.build(
        FAMILY.model("alexnet"), _trunk, head=_head, min_size=MIN_SIZE,
        checks=lambda: _check_alexnet_args(dropout), options=dict(dropout=dropout),
        include_top=include_top, weights=weights, input_tensor=input_tensor,
        input_shape=input_shape, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, name=name, variant=variant)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "torch", "scaled to [0, 1], then ImageNet mean (0.485, 0.456, 0.406) subtracted and "
    "divided by std (0.229, 0.224, 0.225) per RGB channel (torchvision's weights)")

# --- Published numbers ----------------------------------------------------------------------
# torchvision alexnet: 61,100,840 parameters (weight metadata, checked in the tests by building
# torchvision's model), 0.714 GFLOPS (= multiply-adds). Exact, from the layer list above at 224
# (params (k k c/g + 1) f per conv; MACs n n k k c/g f):
#   conv1 23,296 / 70,276,800; conv2 307,392 / 223,948,800; conv3 663,936 / 112,140,288;
#   conv4 884,992 / 149,520,384; conv5 590,080 / 99,680,256; fc6 37,752,832 / 37,748,736;
#   fc7 16,781,312 / 16,777,216; fc8 4,097,000 / 4,096,000
#   -> 61,100,840 parameters, 714,188,480 multiply-adds.
# Paper variant: conv1 34,944; conv2 307,456; conv3 885,120; conv4 663,936; conv5 442,624;
#   same fc -> 60,965,224 parameters ("60 million", section 1), 724,406,816 multiply-adds.
_PAPER = ("Krizhevsky, Sutskever, Hinton, ImageNet Classification with Deep Convolutional "
          "Neural Networks, NeurIPS 2012")
_LAYERS = "Krizhevsky et al. 2012, section 3.5 and Figure 2"
_TV = "torchvision alexnet"
_ALEXNET_ROWS = (
    # (paper layer, our blocks, paper output (Figure 2), paper, torchvision)
    ("conv1", "conv1", "55x55x96", "96 kernels 11x11x3, stride 4", "64 kernels, padding 2"),
    ("response normalization, max pool 3x3/2", "norm1|pool1", "27x27x96", "LRN, overlapping "
     "pool", "no LRN"),
    ("conv2", "conv2", "27x27x256", "256 kernels 5x5x48 (2 groups)", "192 kernels 5x5x64"),
    ("response normalization, max pool 3x3/2", "norm2|pool2", "13x13x256", "LRN, overlapping "
     "pool", "no LRN"),
    ("conv3", "conv3", "13x13x384", "384 kernels 3x3x256", "384 kernels 3x3x192"),
    ("conv4", "conv4", "13x13x384", "384 kernels 3x3x192 (2 groups)", "256 kernels 3x3x384"),
    ("conv5", "conv5", "13x13x256", "256 kernels 3x3x192 (2 groups)", "256 kernels 3x3x256"),
    ("max pool 3x3/2", "pool5", "6x6x256", "", ""),
    ("fc6, fc7, fc8 (softmax)", "head", "1000", "4096, 4096, 1000; dropout in fc6, fc7",
     "adaptive 6x6 average pool first; dropout before fc6, fc7"),
)

#: Keras layer -> torchvision module (`features.{i}` of torchvision's layer list, whose ReLUs
#: and pools take indices too; `classifier.{i}` after its dropouts). fc6 follows a `Flatten`
#: of the 6x6x256 map: its rows are permuted from PyTorch's C-H-W order.
_TORCH_LAYOUT = fam.TorchLayout(
    {"conv1": "features.0", "conv2": "features.3", "conv3": "features.6",
     "conv4": "features.8", "conv5": "features.10", "fc6": "classifier.1",
     "fc7": "classifier.4", "predictions": "classifier.6"},
    flatten={"fc6": "flatten"})

#: torchvision's ImageNet weights (torchvision/models/alexnet.py, `AlexNet_Weights.
#: IMAGENET1K_V1`, torchvision 0.28): crop 224, resize 256, bilinear.
_PRETRAINED = {"torchvision": fam.torchvision_weights(
    "alexnet-owt-7be5be79.pth", "AlexNet_Weights.IMAGENET1K_V1", top1=56.522, top5=79.066,
    num_params=61_100_840, file_size_mb=233.087)}

FAMILY = fam.Family(
    name="alexnet",
    title="AlexNet",
    paper=_PAPER,
    url=("https://papers.nips.cc/paper/2012/hash/c399862d3b9d6b76c8436e924a68c45b"
         "-Abstract.html"),
    models=(fam.ModelEntry(
        name="alexnet", title="AlexNet", builder=AlexNet, default_size=224, variants=VARIANTS,
        pretrained=_PRETRAINED, torch_layout=_TORCH_LAYOUT,
        reference=fam.Reference(
            paper=_PAPER,
            input_shape=(224, 224, 3),
            params=fam.exact(61_100_840, fam.TORCHVISION.format("alexnet"),
                             "all parameters trainable (no BN)"),
            trainable_params=fam.exact(61_100_840, fam.TORCHVISION.format("alexnet"),
                                       fam.TRAINABLE),
            depth=fam.exact(8, _LAYERS + ": five convolutional and three fully-connected",
                            fam.DEPTH),
            macs=fam.measured_macs(714_000_000, fam.TORCHVISION.format(
                "alexnet: 0.714 GFLOPS; exact 714,188,480 from the layer list (comment)")),
            table=tuple(fam.PaperRow(label, blocks, output,
                                     columns={"paper": paper, _TV: tv})
                        for label, blocks, output, paper, tv in _ALEXNET_ROWS),
            table_source=_LAYERS + " (the paper variant is AlexNet(variant='paper'))",
            others=(("paper variant parameters (variant='paper'; the paper: '60 million')",
                     fam.exact(60_965_224, "derived from the paper's layer list (comment)")),
                    ("paper variant multiply-adds",
                     fam.exact(724_406_816, "derived from the paper's layer list (comment)"))),
        )),),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="torch: scaled to [0, 1], ImageNet mean and std per RGB channel",
    blocks=("conv_bn_act",),
    estimate=estimate,
)
