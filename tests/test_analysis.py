"""Tests of cnnblocks.analysis: count_macs, weight_depth, summarize (and `cnnblocks summary`).

Multiply-adds of keras.applications models are the measured figures of the project's
reference (published.md: "Multiply-adds measured on keras.applications"); the TF profiler is a
second, independent oracle. keras.applications is only an oracle here, built with weights=None.
"""

import doctest

import keras
import pytest
from keras import layers

import cnnblocks
from cnnblocks import analysis, cli, graph, published, testing
from cnnblocks.blocks import (bottleneck_module, inception_module, inception_v3_a,
                              residual_module, vgg_block)
from harness import SubclassedModel

keras.utils.set_random_seed(0)


# --- small models with hand-computed counts ---------------------------------------------------

def _functional(input_shape, *layer_list):
    inputs = keras.Input(input_shape)
    x = inputs
    for layer in layer_list:
        x = layer(x)
    return keras.Model(inputs, x)


def _nested():
    inner = _functional((8, 8, 4), layers.Conv2D(6, 3, padding="same"))       # 8*8*6 * 36
    inputs = keras.Input((8, 8, 4))
    return keras.Model(inputs, layers.Dense(5)(inner(inputs)))                # + 8*8*5 * 6


def _shared():
    conv = layers.Conv2D(4, 1)
    inputs = keras.Input((5, 5, 4))
    return keras.Model(inputs, layers.Add()([conv(inputs), conv(conv(inputs))]))  # 3 calls


SMALL_MODELS = [
    # (id, builder, multiply-adds, weight depth); counts computed by hand in the comment.
    ("conv", lambda: _functional((32, 32, 3), layers.Conv2D(8, 3, padding="same")),
     32 * 32 * 8 * 3 * 3 * 3, 1),
    ("conv_strided_valid", lambda: _functional((33, 33, 3), layers.Conv2D(8, 3, strides=2)),
     16 * 16 * 8 * 27, 1),                                          # (33 - 3) // 2 + 1 = 16
    ("conv_groups", lambda: _functional((10, 10, 8), layers.Conv2D(16, 3, padding="same",
                                                                   groups=4)),
     10 * 10 * 16 * 9 * 2, 1),                                      # 8 / 4 = 2 inputs per group
    ("conv_dilated", lambda: _functional((12, 12, 3), layers.Conv2D(4, 3, dilation_rate=2)),
     8 * 8 * 4 * 27, 1),                                            # same kernel volume
    ("conv_channels_first", lambda: _functional(
        (3, 16, 16), layers.Conv2D(8, 3, padding="same", data_format="channels_first")),
     16 * 16 * 8 * 27, 1),
    ("depthwise", lambda: _functional((10, 10, 6), layers.DepthwiseConv2D(
        3, padding="same", depth_multiplier=2)), 10 * 10 * 12 * 9, 1),
    ("separable", lambda: _functional((10, 10, 6), layers.SeparableConv2D(
        16, 3, padding="same")), 10 * 10 * 6 * 9 + 10 * 10 * 16 * 6, 1),
    ("separable_strided", lambda: _functional((10, 10, 6), layers.SeparableConv2D(
        16, 3, strides=2, padding="same", depth_multiplier=2)),
     5 * 5 * 12 * 9 + 5 * 5 * 16 * 12, 1),
    ("transposed", lambda: _functional((4, 4, 8), layers.Conv2DTranspose(3, 3, strides=2)),
     4 * 4 * 8 * 9 * 3, 1),                                         # per input element
    ("conv1d", lambda: _functional((20, 4), layers.Conv1D(5, 3)), 18 * 5 * 12, 1),
    ("dense_rank3", lambda: _functional((7, 10), layers.Dense(3)), 7 * 3 * 10, 1),
    ("not_counted", lambda: _functional(
        (8, 8, 3), layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(),
        layers.AveragePooling2D(2), layers.Flatten(), layers.Dropout(0.5)), 0, 0),
    ("sequential", lambda: keras.Sequential([
        keras.Input((6, 6, 2)), layers.Conv2D(3, 3), layers.Flatten(), layers.Dense(4)]),
     4 * 4 * 3 * 18 + 4 * 48, 2),
    ("nested", _nested, 8 * 8 * 6 * 36 + 8 * 8 * 5 * 6, 2),
    ("shared_layer", _shared, 3 * 5 * 5 * 4 * 4, 2),
]


@pytest.mark.parametrize("build, macs, depth", [row[1:] for row in SMALL_MODELS],
                         ids=[row[0] for row in SMALL_MODELS])
def test_small_models(build, macs, depth):
    model = build()
    assert cnnblocks.count_macs(model) == macs
    assert cnnblocks.weight_depth(model) == depth
    summary = cnnblocks.summarize(model)
    assert summary.macs == macs and summary.params == model.count_params()
    assert sum(row.params for row in summary) == model.count_params()


def test_input_shape_rescales_without_new_weights():
    model = _functional((None, None, 3), layers.Conv2D(8, 3, padding="same"),
                        layers.GlobalAveragePooling2D(), layers.Dense(2))
    n_weights = len(model.weights)
    assert cnnblocks.count_macs(model, input_shape=(32, 32, 3)) == 32 * 32 * 8 * 27 + 16
    assert cnnblocks.count_macs(model, input_shape=[64, 48, 3]) == 64 * 48 * 8 * 27 + 16
    assert len(model.weights) == n_weights and len(model.layers[1]._inbound_nodes) == 1


def test_nested_model_at_another_size():
    inner = _functional((None, None, 3), layers.Conv2D(4, 1))
    inputs = keras.Input((10, 10, 3))
    model = keras.Model(inputs, inner(inputs))
    assert cnnblocks.count_macs(model) == 10 * 10 * 4 * 3
    assert cnnblocks.count_macs(model, input_shape=(20, 10, 3)) == 20 * 10 * 4 * 3


BAD_ARGUMENTS = [
    # (kwargs, error, words in the message)
    (dict(model="vgg16"), TypeError, ["`model`", "'vgg16'"]),
    (dict(model=layers.Dense(2)), TypeError, ["`model`", "Dense"]),
    (dict(model=SubclassedModel()), ValueError, ["`model`", "subclassed"]),
    (dict(input_shape=224), TypeError, ["`input_shape`", "224"]),
    (dict(input_shape=(32, 32)), ValueError, ["`input_shape`", "(32, 32)"]),
    (dict(input_shape=(32, 0, 3)), ValueError, ["`input_shape`", "(32, 0, 3)"]),
    (dict(input_shape=(32.0, 32, 3)), ValueError, ["`input_shape`", "(32.0, 32, 3)"]),
    (dict(input_shape=[(32, 32, 3), (32, 32, 3)]), ValueError, ["one shape per model input"]),
]


@pytest.mark.parametrize("kwargs, error, words", BAD_ARGUMENTS,
                         ids=[f"{e.__name__}-{i}" for i, (_, e, _) in enumerate(BAD_ARGUMENTS)])
def test_bad_arguments(kwargs, error, words):
    kwargs = {"model": _functional((8, 8, 3), layers.Conv2D(2, 3)), **kwargs}
    with pytest.raises(error) as info:
        cnnblocks.count_macs(kwargs.pop("model"), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_unknown_size_asks_for_input_shape():
    model = _functional((None, None, 3), layers.Conv2D(2, 3))
    with pytest.raises(ValueError, match="input_shape"):
        cnnblocks.count_macs(model)


def test_input_shape_a_flatten_dense_head_rejects():
    model = _functional((8, 8, 3), layers.Flatten(), layers.Dense(2))
    with pytest.raises(ValueError, match=r"does not accept `input_shape` \[\(9, 9, 3\)\]"):
        cnnblocks.count_macs(model, input_shape=(9, 9, 3))


# --- blocks: recorded calls, whatever their names; structure for the rest ------------------

def _use_model(names):
    """The README's Use model; `names` maps each block to its name (None: left out)."""
    inputs = keras.Input((224, 224, 3))
    x = vgg_block(inputs, 64, 2, name=names[0])                      # 2 convs + 2x2/2 max pool
    x = inception_module(x, 64, 96, 128, 16, 32, 32, name=names[1])  # GoogLeNet Table 1 columns
    x = residual_module(x, 128, strides=2, name=names[2])            # projection shortcut: auto
    x = bottleneck_module(x, 64, name=names[3])                      # keras ResNet layer names
    return keras.Model(inputs, x)


# Exact counts, from the blocks' formulas (conv (k k c + 1) f; BN 4 f).
USE_PARAMS = [
    (9 * 3 + 1) * 64 + (9 * 64 + 1) * 64,                                       # 38,720
    65 * 64 + 65 * 96 + (9 * 96 + 1) * 128 + 65 * 16 + (25 * 16 + 1) * 32 + 65 * 32,  # 137,072
    (9 * 256 + 1) * 128 + 4 * 128 + (9 * 128 + 1) * 128 + 4 * 128 + (256 + 1) * 128
    + 4 * 128,                                                                  # 477,056
    (128 + 1) * 64 + 4 * 64 + (9 * 64 + 1) * 64 + 4 * 64 + (64 + 1) * 256 + 4 * 256
    + (128 + 1) * 256 + 4 * 256,                                                # 97,408
]
USE_KINDS = ["vgg_block", "inception_module", "residual_module", "bottleneck_module"]
USE_NAMINGS = [
    ("readme", ["block1", "incep", "res", "conv3_block1"]),
    ("free", ["stem", "mix", "down", "neck"]),
    ("unnamed", [None, None, None, None]),
]


@pytest.mark.parametrize("naming, names", USE_NAMINGS, ids=[n for n, _ in USE_NAMINGS])
@pytest.mark.parametrize("roundtrip", [False, True], ids=["built", "keras_file"])
def test_use_model_summarizes_as_four_blocks(naming, names, roundtrip, tmp_path):
    model = _use_model(names)
    if roundtrip:
        model.save(tmp_path / "use.keras")
        model = keras.models.load_model(tmp_path / "use.keras", safe_mode=True)
    summary = cnnblocks.summarize(model)
    expected = names if naming != "unnamed" else USE_KINDS  # a fresh prefix: the kind
    if naming == "unnamed":
        assert [r.name.rsplit("_", 1)[0] if r.name[-1].isdigit() else r.name
                for r in summary] == expected
    else:
        assert [r.name for r in summary] == expected
    assert [r.kind for r in summary] == USE_KINDS
    assert [r.params for r in summary] == USE_PARAMS
    assert summary["%s" % summary.rows[1].name].label == "64 | 96→128 | 16→32 | pool→32"
    assert summary.rows[1].args == {"f1": 64, "f3_reduce": 96, "f3": 128, "f5_reduce": 16,
                                    "f5": 32, "pool_proj": 32, "norm": None,
                                    "f5_kernel_size": 5, "data_format": None}
    assert summary.rows[2].args["strides"] == 2
    assert sum(USE_PARAMS) == summary.params == model.count_params()
    testing.assert_param_count(model, dict(zip([r.name for r in summary], USE_PARAMS)))


def test_unnamed_blocks_get_unique_deterministic_prefixes():
    keras.backend.clear_session()
    inputs = keras.Input((32, 32, 16))
    x = inception_module(inputs, 8, 8, 8, 4, 4, 4)
    x = inception_module(x, 8, 8, 8, 4, 4, 4)
    x = inception_module(x, 8, 8, 8, 4, 4, 4, name="inception_module_2")  # taken by the user
    x = inception_module(x, 8, 8, 8, 4, 4, 4)
    model = keras.Model(inputs, x)
    assert [r.name for r in cnnblocks.summarize(model)] == [
        "inception_module", "inception_module_1", "inception_module_2", "inception_module_3"]
    assert model.get_layer("inception_module_1_3x3_reduce").output.shape[-1] == 8
    keras.backend.clear_session()  # a fresh session numbers again from the start
    inputs = keras.Input((32, 32, 16))
    again = keras.Model(inputs, inception_module(inputs, 8, 8, 8, 4, 4, 4))
    assert [r.name for r in cnnblocks.summarize(again)] == ["inception_module"]


def test_blocks_inside_blocks_are_one_block():
    """A block calls `conv_bn_act`; only the outer call is a block. Called alone, it is one."""
    inputs = keras.Input((16, 16, 3))
    x = cnnblocks.blocks.conv_bn_act(inputs, 8, 3, name="stem")
    x = bottleneck_module(x, 4, name="b")
    summary = cnnblocks.summarize(keras.Model(inputs, x))
    assert [(r.name, r.kind) for r in summary] == [("stem", "conv_bn_act"),
                                                   ("b", "bottleneck_module")]
    assert summary["stem"].label == "3x3 8"


def _tutorial_sequential():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(32, activation="relu"), layers.Dense(10)])


def _hand_written_residual():
    inputs = keras.Input((16, 16, 8))
    x = layers.Conv2D(8, 3, padding="same", name="c1")(inputs)
    y = layers.Conv2D(8, 3, padding="same", name="r1")(x)
    y = layers.Conv2D(8, 3, padding="same", name="r2")(y)
    x = layers.ReLU(name="out")(layers.Add(name="add")([x, y]))
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, layers.Dense(3, name="fc")(x))


FOREIGN = [
    # (model, [(row kind, its layers)]): grouped from the graph's structure, names only label.
    (_tutorial_sequential, [("stage", 2), ("stage", 2), ("head", 3)]),
    # The merge's branches (r1, r2), the add and the ReLU after it are one module; c1, the
    # fork before the first module, is the stem.
    (_hand_written_residual, [("stem", 1), ("module", 4), ("head", 2)]),
]


@pytest.mark.parametrize("build, rows", FOREIGN, ids=["sequential", "residual"])
def test_foreign_models_are_grouped_by_structure(build, rows):
    model = build()
    summary = cnnblocks.summarize(model)
    assert [(r.kind, len(r.layers)) for r in summary] == rows
    assert not any(r.recorded for r in summary)
    assert sum(r.params for r in summary) == model.count_params()
    assert sum(r.macs for r in summary) == cnnblocks.count_macs(model)


def _small_inception_v3():
    inputs = keras.Input((35, 35, 32))
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="conv1_conv")(inputs)
    x = layers.BatchNormalization(scale=False, name="conv1_bn")(x)
    x = inception_v3_a(x, 8, 6, 8, 8, 12, 4, name="mixed0")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, layers.Dense(10, name="predictions")(x), name="tiny_v3")


def test_summarize_rows_and_text():
    model = _small_inception_v3()
    summary = cnnblocks.summarize(model)
    # Hand-written layers around a recorded block: a stage (labelled by its layers' common
    # prefix), the block, the head.
    assert [(row.name, row.kind) for row in summary] == [
        ("conv1", "stage"), ("mixed0", "inception_v3_a"), ("head", "head")]
    mixed0 = summary["mixed0"]
    assert mixed0.output_shape == (35, 35, 32) and mixed0.depth == 3   # 1x1-3x3-3x3 branch
    # conv 1x1: 32*8; 5x5 branch: 32*6 + 25*6*8; 3x3dbl: 32*8 + 9*8*12 + 9*12*12; pool: 32*4;
    # BN (scale=False): 3 numbers per channel, 8 + 6 + 8 + 8 + 12 + 12 + 4 channels.
    assert mixed0.params == (256 + 192 + 1200 + 256 + 864 + 1296 + 128) + 3 * 58
    assert mixed0.trainable_params == (256 + 192 + 1200 + 256 + 864 + 1296 + 128) + 58
    assert summary[1] is mixed0 and len(summary) == 3
    assert summary.depth == 5 and summary.params == model.count_params()
    assert sum(r.trainable_params for r in summary) == summary.trainable_params
    text = str(summary)
    assert text == summary.to_text()
    lines = text.splitlines()
    assert lines[0] == "tiny_v3 (input 35x35x32)"
    assert lines[1].split() == ["block", "kind", "widths", "output", "depth", "params", "MACs"]
    assert f"{mixed0.params:,}" in text and f"{summary.macs:,}" in lines[-2]
    widths = {len(line) for line in lines[1:-1] if not line.startswith("-")}
    assert len(widths) == 1, "numbers are right-aligned to one width"
    assert max(len(line) for line in lines) <= 100
    with pytest.raises(KeyError, match="mixed1"):
        summary["mixed1"]


# --- architectures: depth and the ResNet-50 v1.5 multiply-adds ---------------------------------

def _resnet50_v15():
    """ResNet-50 with the stride on the 3x3 (torchvision's v1.5), keras.applications' stem."""
    inputs = keras.Input((224, 224, 3))
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for block in range(blocks):
            x = bottleneck_module(x, width, strides=2 if block == 0 and stage else 1,
                                  stride_on="3x3", name=f"conv{stage + 2}_block{block + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, layers.Dense(1000, name="predictions")(x), name="resnet50_v15")


@pytest.mark.heavy
def test_resnet50_v15_multiply_adds():
    model = _resnet50_v15()
    # torchvision resnet50 meta: 4.089 GFLOPS (multiply-adds); same parameters as v1.
    assert cnnblocks.count_macs(model) == pytest.approx(4.089e9, rel=0.005)
    assert model.count_params() == 25_636_712 and cnnblocks.weight_depth(model) == 50


DEPTHS = [
    # (builder, weight depth): the number in the name; GoogLeNet 22 (paper, Table 1 and text).
    (lambda: cnnblocks.VGG19(weights=None, input_shape=(32, 32, 3)), 19),  # small input
    (cnnblocks.ResNet18, 18),                                # projections are not on the path
    (lambda: cnnblocks.GoogLeNet(aux_classifiers=True), 22),  # aux heads are shorter paths
]


@pytest.mark.heavy
@pytest.mark.parametrize("build, depth", DEPTHS, ids=["vgg19", "resnet18", "googlenet_aux"])
def test_weight_depth_of_architectures(build, depth):
    assert cnnblocks.weight_depth(build()) == depth


# --- keras.applications oracles (built once per module) ----------------------------------------

KERAS_MODELS = [
    # (name, constructor, input size, measured multiply-adds, weight depth)
    # multiply-adds: published.md "Multiply-adds measured on keras.applications"
    ("VGG16", "VGG16", 224, 15.470e9, 16),
    ("ResNet50", "ResNet50", 224, 3.858e9, 50),
    ("InceptionV3", "InceptionV3", 299, 5.713e9, 48),   # 5 + 3*3 + 3 + 4*5 + 4 + 2*3 + 1
    ("Xception", "Xception", 299, 8.357e9, 37),         # 36 conv layers + the classifier
]


@pytest.fixture(scope="module")
def keras_models():
    """keras.applications models with weights=None, each built once, on demand."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = getattr(keras.applications, name)(weights=None)
        return cache[name]
    return get


@pytest.mark.heavy
@pytest.mark.parametrize("name, ctor, size, macs, depth", KERAS_MODELS,
                         ids=[row[0] for row in KERAS_MODELS])
def test_keras_applications(keras_models, name, ctor, size, macs, depth):
    model = keras_models(ctor)
    assert cnnblocks.count_macs(model) == pytest.approx(macs, rel=0.005)
    assert cnnblocks.weight_depth(model) == depth
    summary = cnnblocks.summarize(model)
    assert summary.macs == cnnblocks.count_macs(model)
    assert sum(row.params for row in summary) == model.count_params()


def _tf_profile(model, size):
    """TF profiler float operations of one forward pass at batch 1: (total, MAC-op part)."""
    import tensorflow as tf
    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32)).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    info = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(),
                                         cmd="scope", options=options)
    mac_types = {"Conv2D", "MatMul", "DepthwiseConv2dNative"}
    mac_ops, stack, seen = 0, list(info.children), set()
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.name in seen:
            continue
        seen.add(node.name)
        try:
            op_type = graph.get_operation_by_name(node.name).type
        except (KeyError, ValueError):
            continue
        mac_ops += node.float_ops if op_type in mac_types else 0
    return info.total_float_ops, mac_ops


@pytest.mark.heavy
@pytest.mark.tf_only(reason="TensorFlow's profiler counts a tf.function graph")
@pytest.mark.parametrize("name, ctor, size, macs, depth", KERAS_MODELS,
                         ids=[row[0] for row in KERAS_MODELS])
def test_tf_profiler_agrees(keras_models, name, ctor, size, macs, depth):
    model = keras_models(ctor)
    ours = cnnblocks.count_macs(model)
    total, mac_ops = _tf_profile(model, size)
    # Convolutions and matrix products: exactly twice our count.
    assert mac_ops == 2 * ours
    # The total also has BN, bias adds, pooling, additions, softmax (not counted by us):
    # measured +0.06% (VGG16), +0.51% (ResNet50), +0.37% (InceptionV3), +0.35% (Xception).
    assert ours <= total / 2 <= ours * 1.006


@pytest.mark.heavy
def test_input_shape_on_keras_resnet50(keras_models):
    model = keras_models("ResNet50")
    fc = 2048 * 1000
    convs = cnnblocks.count_macs(model) - fc
    # At 448x448 every feature map is exactly twice as high and wide: 4x the convolutions.
    assert cnnblocks.count_macs(model, input_shape=(448, 448, 3)) == 4 * convs + fc
    assert model.input_shape == (None, 224, 224, 3)


@pytest.mark.heavy
def test_summarize_keras_vgg16(keras_models):
    """One row per stage (a chain ended by a pool), then the head; names label the rows."""
    summary = cnnblocks.summarize(keras_models("VGG16"))
    assert [r.name for r in summary] == [f"block{i}" for i in range(1, 6)] + ["head"]
    assert [r.kind for r in summary] == ["stage"] * 5 + ["head"]
    assert [r.depth for r in summary] == [2, 2, 3, 3, 3, 3]
    assert summary["block3"].params == 1_475_328 and summary["block3"].output_shape == (28, 28,
                                                                                        256)
    assert "1,475,328" in str(summary) and "15,470,264,320" in str(summary)


@pytest.mark.heavy
def test_summarize_keras_resnet50(keras_models):
    """One row per residual block (branches, add and the ReLU after it), stem and head."""
    summary = cnnblocks.summarize(keras_models("ResNet50"))
    names = [r.name for r in summary]
    assert names[:3] == ["conv1", "conv2_block1", "conv2_block2"] and names[-1] == "head"
    assert len(names) == 1 + 16 + 1 and summary["conv2_block1"].depth == 3
    assert [r.kind for r in summary][1:-1] == ["module"] * 16
    assert summary["conv2_block1"].layers[-1] == "conv2_block1_out"


@pytest.mark.heavy
def test_summarize_keras_inception_v3(keras_models):
    """One row per mixedN module plus two stem stages and the head: 14 rows, not 313 layers."""
    model = keras_models("InceptionV3")
    summary = cnnblocks.summarize(model)
    assert [r.name for r in summary] == (["stem1", "stem2"] + [f"mixed{i}" for i in range(11)]
                                         + ["head"])
    assert [r.kind for r in summary] == ["stem"] * 2 + ["module"] * 11 + ["head"]
    # mixed9's row ends at its own concatenation, whatever keras named the inner ones.
    assert summary["mixed9"].output_shape == (8, 8, 2048)
    assert "mixed9_1" in summary["mixed10"].layers
    # The block diagram draws exactly these blocks.
    source = cnnblocks.to_dot(model, level="block", collapse_repeats=False)
    for row in summary:
        assert f'"{row.name}" [' in source


# --- `cnnblocks summary` ------------------------------------------------------------------------

def test_cli_summary_is_block_level_as_summarize(capsys):
    assert cli.main(["summary", "resnet18", "--input-shape", "64,64,3"]) == 0
    out = capsys.readouterr().out
    model = cnnblocks.create_model("resnet18", input_shape=(64, 64, 3))
    assert out.strip() == cnnblocks.summarize(model).to_text().strip()
    assert "conv2_block1 " in out and "conv2_block1_1_conv" not in out


def test_cli_summary_layers(capsys):
    assert cli.main(["summary", "resnet18", "--input-shape", "64,64,3", "--layers"]) == 0
    out = capsys.readouterr().out
    assert "conv2_block1_1_conv" in out and "Conv2D" in out and "16x16x64" in out
    assert "18 weight layers deep" in out


@pytest.mark.parametrize("argv", [["summary", "resnet18", "--input-shape", "64,64"],
                                  ["summary", "resnet18", "--input-shape", "a,b,c"]])
def test_cli_summary_bad_input_shape(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2 and argv[-1] in capsys.readouterr().err


def test_cli_summary_unknown_model(capsys):
    assert cli.main(["summary", "resnet51"]) == 2
    assert "resnet51" in capsys.readouterr().err


@pytest.mark.parametrize("module", [analysis, graph, published, testing],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_summarize_inception_v3_mixed9_row_is_the_module_output():
    """keras' quirk: the concatenation named `mixed9_1` sits inside mixed10; the mixed9 row
    still reports mixed9's own output (2048 channels), not that inner concatenation's 768."""
    model = cnnblocks.InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3))
    rows = {row.name: row for row in cnnblocks.summarize(model).rows}
    assert rows["mixed9"].output_shape == (1, 1, 2048)
    assert rows["mixed10"].output_shape == (1, 1, 2048)
    assert rows["mixed8"].output_shape == (1, 1, 1280)
