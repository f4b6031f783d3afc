"""NASNet-A (Zoph, Vasudevan, Shlens, Le, "Learning Transferable Architectures for Scalable Image
Recognition", CVPR 2018, https://arxiv.org/abs/1707.07012): NASNet-A Mobile (4 @ 1056) and
Large (6 @ 4032), as released and in keras.applications.

The network is a stem convolution, two reduction cells on the stem (`stem_1`, `stem_2`), then
three stacks of N normal cells separated by two reduction cells (the paper's Figure 2,
ImageNet), each cell reading the outputs of the two cells before it (`cnnblocks.blocks.nasnet`).
Layer names, parameter counts and weight order equal keras.applications' NASNetMobile and
NASNetLarge, whose ImageNet files load into the builders here; the layers keras.applications
leaves unnamed (ReLUs, the adjust step's shift, one addition per reduction cell, the final ReLU)
carry names of their own. Everything about the family is in this module.
"""

import keras
from keras import layers

from cnnblocks import _validation as check
from cnnblocks import cost
from cnnblocks import family as fam
from cnnblocks import identity, preprocessing
from cnnblocks.architectures import common
from cnnblocks.blocks import (nasnet_normal_cell, nasnet_reduction_cell, nasnet_stem,
                              resolve_data_format)
from cnnblocks.blocks.nasnet import (nasnet_normal_cell_cost, nasnet_reduction_cell_cost,
                                     nasnet_stem_cost)

__all__ = ["NASNetMobile", "NASNetLarge"]

#: The variants, in the paper's notation "NASNet-A (N @ P)": N normal cells per stack, P the
#: penultimate width (24 F: the last normal cell's 6 x 4F channels), and the stem's width.
#: The cells' width F = P // 24 doubles at each reduction (filter multiplier 2): the stem cells
#: have F / 4 and F / 2, the three stacks F, 2F, 4F. `skip_reduction`: whether the first normal
#: cell after a reduction reads the cell before the reduction (keras.applications' and the
#: released Large model) instead of the reduction's input (Mobile). Values: keras.applications
#: `NASNetMobile` / `NASNetLarge` (keras 3.15).
NASNET_SPECS = {
    "nasnet_mobile": dict(repeats=4, penultimate=1056, stem_filters=32, skip_reduction=False,
                          default_size=224),
    "nasnet_large": dict(repeats=6, penultimate=4032, stem_filters=96, skip_reduction=True,
                         default_size=331),
}
FILTER_MULTIPLIER = 2


def nasnet_cells(repeats, penultimate):
    """The cells of NASNet-A (N @ P) in order: `(kind, block id, F)` rows.

    Example:
        >>> nasnet_cells(4, 1056)[:3]
        [('reduction', 'stem_1', 11), ('reduction', 'stem_2', 22), ('normal', '0', 44)]
    """
    f = penultimate // 24
    m = FILTER_MULTIPLIER
    cells = [("reduction", "stem_1", f // m ** 2), ("reduction", "stem_2", f // m)]
    for stack in range(3):
        if stack:
            cells.append(("reduction", f"reduce_{stack * repeats}", f * m ** stack))
        first = stack * repeats + (stack > 0)  # keras' ids: 0..N-1, N+1..2N, 2N+1..3N
        cells += [("normal", str(first + i), f * m ** stack) for i in range(repeats)]
    return cells


def _taps(repeats):
    """Feature taps: the last cell at strides 4 (`stem_1`: 56x56 at 224), 8 (the first stack's
    last normal cell, 28x28), 16 (the second stack's, 14x14); C5 is the final ReLU (7x7)."""
    return {"stem_1": "C2", str(repeats - 1): "C3", str(2 * repeats): "C4"}


def _trunk(spec):
    """`body(x, ctx)` of one variant: the stem (`nasnet_stem`), the cells, the final ReLU."""
    cells = nasnet_cells(spec["repeats"], spec["penultimate"])
    taps = _taps(spec["repeats"])

    def body(x, ctx):
        x = nasnet_stem(x, spec["stem_filters"], data_format=ctx.data_format, name="stem")
        previous, finer = None, False
        for kind, block, filters in cells:
            cell = nasnet_reduction_cell if kind == "reduction" else nasnet_normal_cell
            # `previous` comes from before a reduction (a grid twice as fine) for the cell
            # after one; the sizes are known from the structure, whatever the input size.
            y = cell(x, previous, filters, previous_stride=2 if finer else 1,
                     data_format=ctx.data_format, name=block)
            stem_cell = block.startswith("stem")
            if kind == "reduction" and spec["skip_reduction"] and not stem_cell:
                # the next cell reads this one and the cell before its input (released model)
                finer = True
            else:
                previous, finer = x, kind == "reduction"
            x = y
            if block in taps:
                ctx.tap(taps[block], x)
        with identity.region(x, "activation", "final_relu", label="ReLU") as post:
            x = post.done(layers.Activation("relu", name="final_relu")(x))
        ctx.tap("C5", x)
        return x
    return body


def estimate(point, *, input_shape, include_top=True, pooling=None, classes=1000,
             variant=None):
    """The family's estimator (`FAMILY.estimate`): the costs of the registered model `point`
    (a `ModelEntry`; `cnnblocks.cost.Estimate`) at `input_shape` `(h, w, 3)`, walked layer by
    layer as `_trunk` and the head build them (each cell from the shapes of its two inputs),
    without building anything. `variant`: None or "keras", the only structure."""
    if variant is not None:
        check.choice(variant, "variant", point.variants)
    spec = NASNET_SPECS[point.name]
    tally = cost.Tally(input_shape)
    x = nasnet_stem_cost(tally, spec["stem_filters"])           # stem_conv1, stem_bn1
    tally.stage("stem")
    previous, finer = None, False
    for kind, block, filters in nasnet_cells(spec["repeats"], spec["penultimate"]):
        cell = nasnet_reduction_cell_cost if kind == "reduction" else nasnet_normal_cell_cost
        y = cell(tally, x, previous, filters, previous_stride=2 if finer else 1)
        if kind == "reduction" and spec["skip_reduction"] and not block.startswith("stem"):
            finer = True
        else:
            previous, finer = x, kind == "reduction"
        x = y
        tally.stage(block)
    tally.elementwise()                                         # final_relu
    tally.head(include_top, pooling, classes)
    return tally.result()


def _static_size(input_shape, input_tensor, data_format):
    """NASNet's cells need static heights and widths (their stride-2 zero padding depends on
    the size's parity, as keras.applications'): refuses unknown ones."""
    if input_tensor is not None and input_shape is None and keras.utils.is_keras_tensor(
            input_tensor):
        shape, arg = tuple(input_tensor.shape[1:]), "input_tensor"
    elif isinstance(input_shape, (list, tuple)) and len(input_shape) == 3:
        shape, arg = tuple(input_shape), "input_shape"
    else:
        return
    spatial = shape[:2] if data_format == "channels_last" else shape[1:]
    if None in spatial:
        raise ValueError(f"NASNet needs a static input height and width (`{arg}`); received "
                         f"{check.describe(shape)}.")


def _build(model, include_top, weights, input_tensor, input_shape, pooling, classes,
           classifier_activation, name):
    spec = NASNET_SPECS[model]
    data_format, _ = resolve_data_format(None)
    if input_shape is None and input_tensor is None:
        size = spec["default_size"]
        input_shape = (size, size, 3) if data_format == "channels_last" else (3, size, size)
    _static_size(input_shape, input_tensor, data_format)
    return common.build(FAMILY.model(model), _trunk(spec), min_size=32,
                        include_top=include_top, weights=weights, input_tensor=input_tensor,
                        input_shape=input_shape, pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, name=name)


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="nasnet_mobile"):
    """NASNet-A Mobile, "NASNet-A (4 @ 1056)", as released and in keras.applications.

    Reference: Zoph, Vasudevan, Shlens, Le, "Learning Transferable Architectures for Scalable
    Image Recognition", CVPR 2018, https://arxiv.org/abs/1707.07012 (Figures 2 and 4). The
    structure is the row `"nasnet_mobile"` of `NASNET_SPECS` (`nasnet_cells(4, 1056)`).

    Stem `stem_conv1` (3x3/2, 32) + `stem_bn1`, reduction cells `stem_1` (F=11) and `stem_2`
    (F=22), normal cells `0`-`3` (F=44), reduction `reduce_4` (F=88), normal `5`-`8`,
    reduction `reduce_8` (F=176), normal `9`-`12`, `final_relu`, and the head `avg_pool` +
    `predictions`.

    Args:
        input_shape: optional (H, W, 3), static, at least 32x32; must be (224, 224, 3) with a
            top and ImageNet weights. Default (224, 224, 3), with or without a top (as
            keras.applications).
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file (keras.applications' legacy
            HDF5 layout, `.weights.h5` or `.keras`).
        input_tensor: optional Keras tensor to build the model on.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False` (layers
            `avg_pool` / `max_pool`).
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"nasnet_mobile"`.

    Returns:
        A `keras.Model`: 5,326,716 parameters (5,289,978 trainable) with the top, 4,269,716
        without. The feature map (`final_relu`) has 1056 channels, 7x7 at 224 (1x1 at 32).

    Note:
        - The input's height and width must be static: the cells' stride-2 zero padding
          depends on each size's parity (keras.applications' too, which builds a model that
          fails when run on an input of unknown size; here the builder refuses it).
        - keras.applications refuses the torch backend and `channels_first` for NASNet; the
          blocks here take either data format and run on every backend.
        - Inputs are expected in [-1, 1]: use `cnnblocks.architectures.nasnet.preprocess_input`.

    Example:
        >>> from cnnblocks import NASNetMobile
        >>> model = NASNetMobile(weights=None, include_top=False, input_shape=(32, 32, 3))
        >>> tuple(model.output.shape)
        (None, 1, 1, 1056)
    """
    return _build("nasnet_mobile", include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="nasnet_large"):
    """NASNet-A Large, "NASNet-A (6 @ 4032)", as released and in keras.applications.

    Reference: Zoph, Vasudevan, Shlens, Le, "Learning Transferable Architectures for Scalable
    Image Recognition", CVPR 2018, https://arxiv.org/abs/1707.07012 (Figures 2 and 4). The
    structure is the row `"nasnet_large"` of `NASNET_SPECS` (`nasnet_cells(6, 4032)`).

    Stem `stem_conv1` (3x3/2, 96) + `stem_bn1`, reduction cells `stem_1` (F=42) and `stem_2`
    (F=84), normal cells `0`-`5` (F=168), reduction `reduce_6` (F=336), normal `7`-`12`,
    reduction `reduce_12` (F=672), normal `13`-`18`, `final_relu`, and the head `avg_pool` +
    `predictions`. The first normal cell after each of the two reductions reads the cell
    before the reduction as its second input (keras.applications' `skip_reduction`).

    Args:
        input_shape: optional (H, W, 3), static, at least 32x32; must be (331, 331, 3) with a
            top and ImageNet weights. Default (331, 331, 3), with or without a top.
        include_top: bool, add global average pooling (`avg_pool`) and the classifier
            (`predictions`). Default True.
        weights: `"imagenet"` (keras.applications' file, from the Keras cache, checked against
            its hash, downloaded when missing; the default, as in keras.applications), None
            (random initialization) or the path of a weight file.
        input_tensor: optional Keras tensor to build the model on.
        pooling: None, `"avg"` or `"max"` global pooling when `include_top=False`.
        classes: int, number of classes, at most 1,000,000. Default 1000.
        classifier_activation: activation of `predictions`. Default `"softmax"`.
        name: model name. Default `"nasnet_large"`.

    Returns:
        A `keras.Model`: 88,949,818 parameters (88,753,150 trainable) with the top,
        84,916,818 without. The feature map (`final_relu`) has 4032 channels, 11x11 at 331.

    Note:
        The input's height and width must be static (the cells' stride-2 zero padding depends
        on each size's parity); without a top the input defaults to (331, 331, 3), where
        keras.applications' NASNetLarge gives (None, None, 3) and a model that fails when
        run. Inputs are expected in [-1, 1] (`preprocess_input`, mode "tf").

    Example:
        >>> from cnnblocks import NASNetLarge
        >>> model = NASNetLarge(weights=None, include_top=False, input_shape=(32, 32, 3))
        >>> tuple(model.output.shape)
        (None, 1, 1, 4032)
    """
    return _build("nasnet_large", include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name)


preprocess_input, decode_predictions = preprocessing.family_utils(
    "tf", "pixels in [0, 255] scaled to [-1, 1]")

_PAPER = ("Zoph, Vasudevan, Shlens, Le, Learning Transferable Architectures for Scalable "
          "Image Recognition, CVPR 2018")
_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"


# --- Published numbers ----------------------------------------------------------------------
# keras.applications NASNetMobile / NASNetLarge (keras 3.15, weights=None, 1000 classes):
# count_params() and trainable parameters; multiply-adds measured by count_macs on
# keras.applications at 224x224 / 331x331 (563,638,816 and 23,783,414,658); depth measured by
# cnnblocks.weight_depth on keras.applications (58 and 76). The paper's figures (Zoph et al. 2018: Table 2, NASNet-A
# (6 @ 4032) 88.9 M parameters, 23.8 B multiply-adds; Table 3, NASNet-A (4 @ 1056) 5.3 M,
# 564 M) are kept as rounded figures. /work/shared/reference/published.md has no NASNet rows.
_PUBLISHED = {
    # model: (keras name, (total, trainable), depth, multiply-adds, size, paper table,
    #         paper params, paper multiply-adds)
    "nasnet_mobile": ("NASNetMobile", (5_326_716, 5_289_978), 58, 563_638_816, 224,
                      "Table 3, NASNet-A (4 @ 1056)", 5.3e6, 564e6),
    "nasnet_large": ("NASNetLarge", (88_949_818, 88_753_150), 76, 23_783_414_658, 331,
                     "Table 2, NASNet-A (6 @ 4032)", 88.9e6, 23.8e9),
}
#: keras.applications' ImageNet files (nasnet.py, Keras 3.15): (with top, no top) file names
#: and MD5 hashes.
_FILES = {
    "nasnet_mobile": (("NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
                      ("NASNet-mobile-no-top.h5", "1ed92395b5b598bdda52abe5c0dbfd63")),
    "nasnet_large": (("NASNet-large.h5", "11577c9a518f0070763c2b964a382f17"),
                     ("NASNet-large-no-top.h5", "d81d89dc07e6e56530c4e77faddd61b5")),
}
_PAPER_SHORT = "Zoph et al. 2018"


def _entry(model, title, builder):
    keras_name, (params, trainable), depth, macs, size, table, paper_params, paper_macs = (
        _PUBLISHED[model])
    keras_source = fam.KERAS.format(keras_name)
    return fam.ModelEntry(
        name=model, title=title, builder=builder, default_size=size, keras_name=keras_name,
        imagenet=tuple(fam.WeightFile(_BASE + f, h) for f, h in _FILES[model]),
        reference=fam.Reference(
            paper=_PAPER,
            input_shape=(size, size, 3),
            params=fam.exact(params, keras_source, fam.KERAS_PARAMS),
            trainable_params=fam.exact(trainable, keras_source, fam.TRAINABLE),
            depth=fam.exact(depth, f"derived: cnnblocks.weight_depth of keras.applications "
                            f"{keras_name} (comment)", fam.DEPTH),
            macs=fam.measured_macs(macs, fam.KERAS_MACS.format(keras_name) +
                                   f" at {size}x{size}"),
            others=((f"paper parameters ({table})",
                     fam.rounded(paper_params, 0.05e6, f"{_PAPER_SHORT}, {table}",
                                 "parameters, millions")),
                    (f"paper multiply-adds ({table})",
                     fam.rounded(paper_macs, 0.5e6 if paper_macs < 1e9 else 0.05e9,
                                 f"{_PAPER_SHORT}, {table}", fam.MACS))),
        ))


FAMILY = fam.Family(
    name="nasnet",
    title="NASNet",
    paper=_PAPER,
    url="https://arxiv.org/abs/1707.07012",
    models=(_entry("nasnet_mobile", "NASNet-A Mobile", NASNetMobile),
            _entry("nasnet_large", "NASNet-A Large", NASNetLarge)),
    preprocess_input=preprocess_input,
    decode_predictions=decode_predictions,
    preprocessing="tf: pixels in [0, 255] scaled to [-1, 1]",
    blocks=("nasnet_stem", "nasnet_reduction_cell", "nasnet_normal_cell", "nasnet_adjust"),
    estimate=estimate,
)
