"""The graph engine on any functional CNN: keras.applications families and a gallery of user
models written in different styles.

Truths: one row per block or cell of each keras.applications family (counted from the papers'
tables: ConvNeXt-T 3+3+9+3 blocks; Inception-ResNet-V2 10+20+10 modules plus its three
Inception/reduction modules; NASNet-A Mobile 2 stem cells + 12 normal + 2 reduction cells; one
depthwise convolution per MobileNet / EfficientNet block), and each row's parameters equal to
the sum over its layers, computed here from the layers themselves.
"""

import collections
import math

import keras
import numpy as np
import pytest
from keras import layers

import cnnblocks
from cnnblocks import graph

pytestmark = pytest.mark.backend_independent

KERAS = keras.applications


def _layer_params(model):
    """Layer name (with nested models' path) -> parameters, from the layers themselves."""
    result = {}

    def walk(m, prefix):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer, f"{prefix}{layer.name}/")
            elif not isinstance(layer, layers.InputLayer):
                result[f"{prefix}{layer.name}"] = sum(math.prod(w.shape) for w in layer.weights)
    walk(model, "")
    return result


def _check_rows_add_up(model, summary):
    """Each row's parameters are its layers' (each layer once); the rows add up."""
    own = _layer_params(model)
    counted = set()
    for row in summary:
        fresh = [name for name in row.layers if name not in counted and name in own]
        counted.update(row.layers)
        assert row.params == sum(own[name] for name in fresh), row.name
    assert sum(r.params for r in summary) == model.count_params()
    assert sum(r.macs for r in summary) == cnnblocks.count_macs(model, input_shape=(
        summary.input_shape))


def _types(model, row):
    """Layer class names of a row."""
    by_name = {}

    def walk(m, prefix):
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer, f"{prefix}{layer.name}/")
            else:
                by_name[f"{prefix}{layer.name}"] = type(layer).__name__
    walk(model, "")
    return collections.Counter(by_name.get(name, "op") for name in row.layers)


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name, **kwargs):
        if name not in cache:
            keras.utils.set_random_seed(0)
            cache[name] = getattr(KERAS, name)(weights=None, **kwargs)
        return cache[name]
    return get


def _blocks(summary, kinds=("module", "cell")):
    return [r for r in summary if r.kind in kinds]


@pytest.mark.heavy
def test_convnext_tiny_one_row_per_block(built):
    model = built("ConvNeXtTiny")
    summary = cnnblocks.summarize(model)
    blocks = _blocks(summary)
    # Stage widths 96/192/384/768, depths 3/3/9/3 (Liu et al. 2022, Table 9).
    assert [(r.output_shape[0], r.output_shape[-1]) for r in blocks] == (
        [(56, 96)] * 3 + [(28, 192)] * 3 + [(14, 384)] * 9 + [(7, 768)] * 3)
    kinds = [r.kind for r in summary]
    assert kinds[0] == "stem" and kinds[-1] == "head" and kinds.count("stage") == 3
    for row in blocks:  # depthwise 7x7 (a grouped Conv2D), LayerNorm, two Dense, LayerScale
        types = _types(model, row)
        assert types["Conv2D"] == 1 and types["LayerNormalization"] == 1
        assert types["Dense"] == 2 and types["LayerScale"] == 1 and types["op"] == 1  # x + y
    _check_rows_add_up(model, summary)
    field = cnnblocks.receptive_field(model).last_feature_map
    assert field.stride == (32, 32)


@pytest.mark.heavy
def test_inception_resnet_v2_one_row_per_module(built):
    model = built("InceptionResNetV2")
    summary = cnnblocks.summarize(model)
    blocks = _blocks(summary)
    shapes = collections.Counter(r.output_shape for r in blocks)
    # 10 x block35, 20 x block17, 10 x block8 (Szegedy et al. 2017, Fig. 15), plus mixed_5b
    # (35x35x320), the reductions mixed_6a (17x17x1088) and mixed_7a (8x8x2080).
    assert shapes == {(35, 35, 320): 11, (17, 17, 1088): 21, (8, 8, 2080): 11}
    assert sum(_types(model, r)["CustomScaleLayer"] for r in blocks) == 40
    _check_rows_add_up(model, summary)
    # google-research/receptive_field: Inception-ResNet-V2 3039, stride 32.
    field = cnnblocks.receptive_field(model)
    assert field["conv_7b"].size == (3039, 3039) and field["conv_7b"].stride == (32, 32)


@pytest.mark.heavy
@pytest.mark.parametrize("name, cells", [("NASNetMobile", 16), ("NASNetLarge", 22)])
def test_nasnet_one_row_per_cell(built, name, cells):
    """2 stem (reduction) cells, 3 x N normal cells and 2 reduction cells (Zoph et al. 2018;
    N = 4 for Mobile, 6 for Large); each cell reads the two cells before it."""
    model = built(name)
    summary = cnnblocks.summarize(model)
    blocks = _blocks(summary)
    assert len(blocks) == cells
    assert [r.kind for r in blocks][1:] == ["cell"] * (cells - 1)
    assert summary[0].kind == "stem" and summary[-1].kind == "head"
    concats = [sum(_types(model, r)["Concatenate"] >= 1 for r in blocks)]
    assert concats == [cells]
    _check_rows_add_up(model, summary)


DEPTHWISE_FAMILIES = [
    # (model, input shape, blocks: one depthwise convolution each)
    ("MobileNet", None, 13),         # Howard et al. 2017, Table 1: 13 dw/pw pairs
    ("MobileNetV2", None, 17),       # Sandler et al. 2018, Table 2: 1+2+3+4+3+3+1
    ("MobileNetV3Small", (224, 224, 3), 11),  # Howard et al. 2019, Table 2
    ("EfficientNetB0", None, 16),    # Tan & Le 2019, Table 1: 1+2+2+3+3+4+1
]


@pytest.mark.heavy
@pytest.mark.parametrize("name, shape, count", DEPTHWISE_FAMILIES,
                         ids=[d[0] for d in DEPTHWISE_FAMILIES])
def test_depthwise_blocks_are_whole(built, name, shape, count):
    model = built(name)
    summary = cnnblocks.summarize(model, input_shape=shape)
    rows = [r for r in summary if _types(model, r)["DepthwiseConv2D"]]
    assert len(rows) == count
    assert all(_types(model, r)["DepthwiseConv2D"] == 1 for r in rows)
    # The stem holds the first convolution and no block; the head starts at the pooling.
    assert summary[0].kind == "stem" and not _types(model, summary[0])["DepthwiseConv2D"]
    assert summary[-1].kind == "head"
    _check_rows_add_up(model, summary)


@pytest.mark.heavy
def test_efficientnet_blocks_hold_their_gate(built):
    """A squeeze-and-excitation gate is a step of its MBConv block, not a block."""
    model = built("EfficientNetB0")
    summary = cnnblocks.summarize(model)
    for row in summary:
        types = _types(model, row)
        if types["DepthwiseConv2D"]:
            assert types["Multiply"] == 1 and types["GlobalAveragePooling2D"] == 1, row.name


@pytest.mark.heavy
def test_efficientnet_v2_s_one_row_per_block(built):
    """2+4+4+6+9+15 = 40 blocks (Tan & Le 2021, Table 4), stem, top conv and head."""
    model = built("EfficientNetV2S")
    summary = cnnblocks.summarize(model)
    assert [r.kind for r in summary][0] == "stem" and summary[-1].kind == "head"
    assert len(summary) == 1 + 40 + 1 + 1
    _check_rows_add_up(model, summary)


@pytest.mark.heavy
def test_resnet50_v2_and_densenet121_keep_their_bn(built):
    """A pre-activation block starts with its own BN; a DenseNet transition is BN-ReLU-conv-pool
    (neither is counted in the block before)."""
    model = built("ResNet50V2")
    summary = cnnblocks.summarize(model)
    blocks = _blocks(summary)
    assert len(blocks) == 16
    firsts = [r for r in blocks if _types(model, r)["Conv2D"] == 4]  # with projection
    assert len(firsts) == 4
    for row in firsts:
        assert row.layers[0].endswith("preact_bn") and _types(model, row)[
            "BatchNormalization"] == 3, row.layers
    _check_rows_add_up(model, summary)
    model = built("DenseNet121")
    summary = cnnblocks.summarize(model)
    assert len(_blocks(summary)) == 6 + 12 + 24 + 16
    transitions = [r for r in summary if _types(model, r)["AveragePooling2D"]]
    assert len(transitions) == 3
    for row in transitions:
        assert _types(model, row) == {"BatchNormalization": 1, "Activation": 1, "Conv2D": 1,
                                      "AveragePooling2D": 1}
    _check_rows_add_up(model, summary)


PUBLISHED_FIELDS = [
    # (model, layer, size, stride): google-research/receptive_field's table
    ("MobileNet", "conv_pw_13_relu", 315, 32),
    ("ResNet50", "conv5_block3_out", 483, 32),
]


@pytest.mark.heavy
@pytest.mark.parametrize("name, layer, size, stride", PUBLISHED_FIELDS,
                         ids=[p[0] for p in PUBLISHED_FIELDS])
def test_published_receptive_fields(built, name, layer, size, stride):
    field = cnnblocks.receptive_field(built(name)).layers[layer]
    assert field.size == (size, size) and field.stride == (stride, stride)


# --- a gallery of user models --------------------------------------------------------------

def _plus_residual():
    inputs = keras.Input((16, 16, 8))
    x = layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    y = layers.Conv2D(8, 3, padding="same", activation="relu", name="a")(x)
    y = layers.Conv2D(8, 3, padding="same", name="b")(y)
    x = layers.ReLU(name="out")(x + y)
    return keras.Model(inputs, layers.Dense(3, name="fc")(
        layers.GlobalAveragePooling2D(name="gap")(x)), name="plus")


def _ops_residual_with_gate():
    inputs = keras.Input((16, 16, 8))
    x = layers.Conv2D(8, 3, padding="same", name="stem")(inputs)
    y = layers.Conv2D(8, 3, padding="same", name="c1")(x)
    s = layers.GlobalAveragePooling2D(keepdims=True, name="squeeze")(y)
    s = layers.Conv2D(8, 1, activation="sigmoid", name="excite")(s)
    y = keras.ops.multiply(y, s)
    x = keras.ops.add(x, y)
    x = layers.Conv2D(8, 3, padding="same", name="after")(x)
    return keras.Model(inputs, layers.GlobalAveragePooling2D(name="gap")(x), name="ops")


def _convnext_style():
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(16, 4, strides=4, name="patchify")(inputs)
    x = layers.LayerNormalization(epsilon=1e-6, name="stem_ln")(x)
    for i in range(3):
        y = layers.DepthwiseConv2D(7, padding="same", name=f"b{i}_dw")(x)
        y = layers.LayerNormalization(epsilon=1e-6, name=f"b{i}_ln")(y)
        y = layers.Dense(64, activation="gelu", name=f"b{i}_pw1")(y)
        y = layers.Dense(16, name=f"b{i}_pw2")(y)
        x = x + y
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, layers.Dense(10, name="fc")(x), name="convnext_style")


class Swish2(layers.Layer):
    """A user's pointwise activation layer."""

    def call(self, x):
        return x * keras.ops.sigmoid(2.0 * x)


def _custom_layer():
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
    x = Swish2(name="act")(x)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Conv2D(8, 3, padding="same", name="c2")(x)
    return keras.Model(inputs, x, name="custom")


def _backbone():
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
    y = layers.Conv2D(8, 3, padding="same", name="r1")(x)
    x = layers.Add(name="add")([x, y])
    return keras.Model(inputs, x, name="backbone")


def _nested():
    inputs = keras.Input((16, 16, 3))
    x = _backbone()(inputs)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, layers.Dense(4, name="fc")(x), name="nested")


def _nested_called_twice():
    shared = _backbone()
    a, b = keras.Input((16, 16, 3), name="a"), keras.Input((16, 16, 3), name="b")
    fa = layers.GlobalAveragePooling2D(name="gap_a")(shared(a))
    fb = layers.GlobalAveragePooling2D(name="gap_b")(shared(b))
    return keras.Model([a, b], layers.Dense(1, name="fc")(layers.Concatenate(
        name="pair")([fa, fb])), name="siamese")


def _sequential():
    return keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10)], name="seq")


def _shared_layer():
    inputs = keras.Input((16, 16, 4))
    conv = layers.Conv2D(4, 3, padding="same", name="shared")
    x = conv(inputs)
    x = conv(x)  # the same layer called twice: its weights once, its MACs twice
    return keras.Model(inputs, layers.GlobalMaxPooling2D(name="gmp")(x), name="shared")


def _two_inputs():
    a, b = keras.Input((16, 16, 3), name="rgb"), keras.Input((16, 16, 1), name="depth")
    x = layers.MaxPooling2D(name="pa")(layers.Conv2D(8, 3, padding="same", name="ca")(a))
    y = layers.MaxPooling2D(name="pb")(layers.Conv2D(8, 3, padding="same", name="cb")(b))
    z = layers.Concatenate(name="fuse")([x, y])
    z = layers.Conv2D(8, 3, padding="same", name="cz")(z)
    return keras.Model([a, b], layers.GlobalAveragePooling2D(name="gap")(z), name="two")


def _two_outputs():
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
    x = layers.MaxPooling2D(name="pool")(x)
    cls = layers.Dense(5, name="cls")(layers.GlobalAveragePooling2D(name="gap")(x))
    seg = layers.Conv2D(2, 1, name="seg")(x)
    return keras.Model(inputs, [cls, seg], name="multi")


def _inception_ops():
    inputs = keras.Input((16, 16, 8))
    a = layers.Conv2D(4, 1, name="b1")(inputs)
    b = layers.Conv2D(4, 3, padding="same", name="b3")(layers.Conv2D(2, 1, name="b3r")(inputs))
    c = layers.Conv2D(4, 1, name="bp")(layers.MaxPooling2D(3, 1, "same", name="p")(inputs))
    x = keras.ops.concatenate([a, b, c], axis=-1)
    return keras.Model(inputs, layers.GlobalAveragePooling2D(name="gap")(x), name="incep")


def _scaled_add():
    from cnnblocks.layers import ScaledAdd
    inputs = keras.Input((8, 8, 4))
    y = layers.Conv2D(4, 3, padding="same", name="branch")(inputs)
    x = ScaledAdd(0.2, name="scale")([inputs, y])
    return keras.Model(inputs, layers.Activation("relu", name="act")(x), name="scaled")


def _dense_as_conv():
    inputs = keras.Input((8, 8, 3))
    x = layers.Dense(16, name="embed")(inputs)  # a 1x1 convolution on the channel axis
    x = layers.Conv2D(16, 3, padding="same", name="c")(x)
    x = layers.Dropout(0.1, name="drop")(x)
    return keras.Model(inputs, layers.Dense(4, name="proj")(x), name="dense")


GALLERY = [
    # (builder, row kinds)
    (_plus_residual, ["stem", "module", "head"]),
    (_ops_residual_with_gate, ["stem", "module", "stage", "head"]),
    (_convnext_style, ["stem", "module", "module", "module", "head"]),
    (_custom_layer, ["stage", "stage"]),
    (_nested, ["stem", "module", "head"]),
    # Towers from two inputs meet without a fork: each tower is cut on its own.
    (_nested_called_twice, ["stem", "module", "stage", "module", "head", "head", "stage"]),
    (_sequential, ["stage", "stage", "head"]),
    (_shared_layer, ["stage", "head"]),
    (_two_inputs, ["stage", "stage", "stage", "head"]),
    (_two_outputs, ["stage", "head", "head"]),
    (_inception_ops, ["module", "head"]),
    (_scaled_add, ["module"]),
    (_dense_as_conv, ["stage"]),
]


@pytest.mark.parametrize("build, kinds", GALLERY, ids=[g[0].__name__.strip("_")
                                                       for g in GALLERY])
def test_gallery(build, kinds):
    model = build()
    summary = cnnblocks.summarize(model)
    assert [r.kind for r in summary] == kinds, str(summary)
    own = _layer_params(model)
    counted = set()
    for row in summary:
        fresh = [name for name in row.layers if name not in counted and name in own]
        counted.update(row.layers)
        assert row.params == sum(own[name] for name in fresh)
    assert sum(r.params for r in summary) == model.count_params()
    assert sum(r.macs for r in summary) == cnnblocks.count_macs(model)
    # Every layer of the model is in one row (operations too).
    assert set(own) <= counted


def test_gallery_receptive_fields():
    """Fields through `x + y`, ops-level gates and concatenations, LayerNorm, Dense as a 1x1
    convolution, nested models; a custom layer is declared with `pointwise`."""
    f = cnnblocks.receptive_field(_plus_residual())
    assert f.layers["out"].size == (7, 7)
    f = cnnblocks.receptive_field(_convnext_style())
    assert f.layers["b2_pw2"].size == (4 + 3 * 6 * 4,) * 2 and f.layers["b2_pw2"].stride == (
        4, 4)
    f = cnnblocks.receptive_field(_ops_residual_with_gate())
    assert f.layers["after"].size == (7, 7) and f.layers["after"].axes[0].global_context
    f = cnnblocks.receptive_field(_inception_ops())
    assert f.layers["gap"].is_global
    f = cnnblocks.receptive_field(_nested())
    assert f.layers["backbone/add"].size == (5, 5) and f.layers["backbone"].size == (5, 5)
    f = cnnblocks.receptive_field(_dense_as_conv())
    assert f.layers["proj"].size == (3, 3)
    with pytest.raises(ValueError, match=r"'act' \(Swish2\).*pointwise=\(Swish2,\)"):
        cnnblocks.receptive_field(_custom_layer())
    f = cnnblocks.receptive_field(_custom_layer(), pointwise=(Swish2,))
    assert f.layers["c2"].size == (8, 8)


def _plain_chain(widths, name):
    """Sequential 3x3 conv-BN-ReLU units (the first with stride 2), then the head."""
    model = keras.Sequential([keras.Input((32, 32, 3))], name=name)
    for i, width in enumerate(widths):
        model.add(layers.Conv2D(width, 3, strides=2 if i == 0 else 1, padding="same",
                                use_bias=False, name=f"c{i}"))
        model.add(layers.BatchNormalization(name=f"bn{i}"))
        model.add(layers.ReLU(name=f"r{i}"))
    model.add(layers.GlobalAveragePooling2D(name="pool"))
    return model


def test_a_narrowing_spatial_convolution_ends_the_stem():
    """A stem widens the channels (InceptionV3's 32, 32, 64): one row. A 3x3 convolution
    that narrows them (EfficientNetV2-B0's block1a, 32 -> 16) starts a row of its own."""
    widening = cnnblocks.summarize(_plain_chain((32, 32, 64), "widening"))
    assert [r.kind for r in widening] == ["stage", "head"]
    narrowing = cnnblocks.summarize(_plain_chain((32, 16, 16), "narrowing"))
    assert [len(r.layers) for r in narrowing][:2] == [3, 6]
    assert [r.kind for r in narrowing] == ["stage", "stage", "head"]


def test_shared_weights_counted_once():
    model = _nested_called_twice()
    summary = cnnblocks.summarize(model)
    assert summary.params == model.count_params() == sum(r.params for r in summary)
    macs = [r.macs for r in summary if r.kind == "module"]
    assert len(macs) == 2 and macs[0] == macs[1] > 0  # computed twice, counted twice
    model = _shared_layer()
    summary = cnnblocks.summarize(model)
    assert summary.rows[0].params == 4 * 9 * 4 + 4
    assert summary.macs == 2 * 16 * 16 * 4 * 36


def test_resolve_once_and_reuse():
    model = _convnext_style()
    resolved = graph.resolve(model)
    assert graph.resolve(resolved) is resolved
    summary = cnnblocks.summarize(resolved)
    assert [r.name for r in summary] == [r.name for r in cnnblocks.summarize(model)]
    assert [c.name for c in resolved.calls if not c.is_layer] == ["add", "add_1", "add_2"] or (
        len([c for c in resolved.calls if not c.is_layer]) == 3)


def test_unreadable_models_get_one_clear_error():
    class Sub(keras.Model):
        def call(self, x):
            return x

    sub = Sub()
    sub(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="subclassed"):
        cnnblocks.summarize(sub)
    inputs = keras.Input((4, 4, 3))
    outer = keras.Model(inputs, sub(inputs), name="outer")
    before = [layer.name for layer in outer.layers]
    with pytest.raises(ValueError, match=r"nested model 'sub.*subclassed"):
        cnnblocks.summarize(outer)
    assert [layer.name for layer in outer.layers] == before


def test_recorded_blocks_of_a_nested_model_are_rows():
    backbone = cnnblocks.create_model("resnet18", include_top=False, input_shape=(32, 32, 3))
    inputs = keras.Input((32, 32, 3))
    x = layers.GlobalAveragePooling2D(name="gap")(backbone(inputs))
    model = keras.Model(inputs, layers.Dense(2, name="fc")(x))
    summary = cnnblocks.summarize(model)
    inner = cnnblocks.summarize(backbone)
    assert [r.name for r in summary][:len(inner)] == [f"{backbone.name}/{r.name}"
                                                      for r in inner]
    assert [r.params for r in summary][:len(inner)] == [r.params for r in inner]
    assert summary.params == model.count_params()


@pytest.mark.heavy
def test_nasnet_diagrams_at_every_level(built):
    """A cell-based model draws at every level (NASNetLarge: under 4 s per level on 2 cores);
    the block level has one box per cell."""
    model = built("NASNetMobile")
    summary = cnnblocks.summarize(model)
    block_level = cnnblocks.to_dot(model, level="block", collapse_repeats=False)
    for row in summary:
        assert f'"{row.name}" [' in block_level
    for level in ("module", "layer"):
        assert cnnblocks.to_dot(model, level=level).startswith("digraph")


# --- every keras.applications model -----------------------------------------------------------

def _efficientnet_rows(depth):
    """Stem, ceil(depth x repeats) MBConv blocks (Tan & Le 2019, Table 1), top conv, head."""
    return 1 + sum(math.ceil(depth * r) for r in (1, 2, 2, 3, 3, 4, 1)) + 2


def _efficientnet_v2_rows(repeats, depth=1.0):
    """Stem, ceil(depth x repeats) blocks (Tan & Le 2021), top conv, head. B0-B3's first
    block, a stride-1 3x3 conv-BN-act without a shortcut, is a row of its own: it narrows the
    stem's channels (32 -> 16), which a stem never does."""
    return 1 + sum(math.ceil(depth * r) for r in repeats) + 2


V2_BASE = (1, 2, 2, 3, 5, 8)
EVERY_KERAS_MODEL = [
    # (constructor, rows): stem rows + one per block/cell + transitions/top rows + head
    ("ConvNeXtTiny", 1 + (3 + 3 + 9 + 3) + 3 + 1),
    ("ConvNeXtSmall", 1 + (3 + 3 + 27 + 3) + 3 + 1),
    ("ConvNeXtBase", 1 + 36 + 3 + 1),
    ("ConvNeXtLarge", 1 + 36 + 3 + 1),
    ("ConvNeXtXLarge", 1 + 36 + 3 + 1),
    ("DenseNet121", 1 + (6 + 12 + 24 + 16) + 3 + 1 + 1),  # + the final BN-ReLU
    ("DenseNet169", 1 + (6 + 12 + 32 + 32) + 3 + 1 + 1),
    ("DenseNet201", 1 + (6 + 12 + 48 + 32) + 3 + 1 + 1),
    *[(f"EfficientNetB{i}", _efficientnet_rows(d))
      for i, d in enumerate((1.0, 1.1, 1.2, 1.4, 1.8, 2.2, 2.6, 3.1))],
    ("EfficientNetV2B0", _efficientnet_v2_rows(V2_BASE)),
    ("EfficientNetV2B1", _efficientnet_v2_rows(V2_BASE, 1.1)),
    ("EfficientNetV2B2", _efficientnet_v2_rows(V2_BASE, 1.2)),
    ("EfficientNetV2B3", _efficientnet_v2_rows(V2_BASE, 1.4)),
    ("EfficientNetV2S", _efficientnet_v2_rows((2, 4, 4, 6, 9, 15))),
    ("EfficientNetV2M", _efficientnet_v2_rows((3, 5, 5, 7, 14, 18, 5))),
    ("EfficientNetV2L", _efficientnet_v2_rows((4, 7, 7, 10, 19, 25, 7))),
    ("InceptionResNetV2", 2 + 1 + 10 + 1 + 20 + 1 + 10 + 1 + 1),  # + conv_7b
    ("InceptionV3", 2 + 11 + 1),
    ("MobileNet", 1 + 13 + 1),
    ("MobileNetV2", 1 + 17 + 1 + 1),  # + Conv_1
    ("MobileNetV3Small", 1 + 11 + 1 + 1),  # + the last 1x1 conv
    ("MobileNetV3Large", 1 + 15 + 1 + 1),
    ("NASNetMobile", 1 + 16 + 1),
    ("NASNetLarge", 1 + 22 + 1),
    ("ResNet50", 1 + 16 + 1),
    ("ResNet101", 1 + 33 + 1),
    ("ResNet152", 1 + 50 + 1),
    ("ResNet50V2", 1 + 16 + 1 + 1),  # + the final BN-ReLU
    ("ResNet101V2", 1 + 33 + 1 + 1),
    ("ResNet152V2", 1 + 50 + 1 + 1),
    ("VGG16", 5 + 1),
    ("VGG19", 5 + 1),
    ("Xception", 1 + 12 + 1 + 1),  # + block14's separable convolutions
]


@pytest.mark.heavy
@pytest.mark.parametrize("name, rows", EVERY_KERAS_MODEL, ids=[m[0] for m in EVERY_KERAS_MODEL])
def test_every_keras_applications_model(name, rows):
    """One row per block or cell of every keras.applications model; each row's parameters are
    its layers'; the rows add up. Models are built one at a time and dropped."""
    keras.utils.set_random_seed(0)
    shape = {"input_shape": (224, 224, 3)} if name.startswith("MobileNetV3") else {}
    model = getattr(KERAS, name)(weights=None, **shape)
    summary = cnnblocks.summarize(model)
    assert len(summary) == rows, str(summary)
    assert summary[0].kind == "stem" or name.startswith("VGG")
    assert summary[-1].kind == "head"
    _check_rows_add_up(model, summary)
    del model
    keras.backend.clear_session()
