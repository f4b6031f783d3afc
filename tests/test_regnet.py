"""RegNet: `regnet_block` through the shared harness, the 15 torchvision RegNets (X and Y),
`cnnblocks.design.regnet` for any point of the design space, and torchvision / timm as oracles.

keras.applications (Keras 3) has no RegNet; torchvision is the oracle: its metadata's
`num_params` and GFLOPS (the family's records) and, in this process, its models (random
weights, randomized BN statistics) converted into ours. Counts of every model are checked on a
32x32 build (parameters do not depend on the input size; the head pools globally) and
multiply-adds symbolically at 224x224; the two 400MF models also by outputs. timm's files of
the same models (its `s1.b1.conv1.conv` names) convert too, and a design torchvision does not
ship (pycls' RegNetX-200MF, timm's `regnetx_002`) is built by `design.regnet` and converted
from timm's state dict.
"""

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import convert, design, registry
from cnnblocks.architectures import regnet
from cnnblocks.blocks import regnet_block
from harness import check_block
from parity import bn, conv, se

# One check repeated over many architectures: the extra-backend passes run its heavy cases
# for ResNet50 and InceptionV3 only (conftest.py).
pytestmark = pytest.mark.per_architecture

TOLERANCE = 1e-4  # max |ours - torch| / max |torch|


# ------------------------------------------------------------------------------ block ------
# c -> w, bottleneck m = round(w b), groups m / g:
#   c m + 4 m + 9 m g + 4 m + [SE m -> round(se c) -> m] + m w + 4 w + [projection c w + 4 w]
def _block_params(c, w, g, *, b=1.0, se_ratio=None, projection=True):
    m = int(round(w * b))
    total = conv(1, c, m) + bn(m) + 9 * m * g + bn(m) + conv(1, m, w) + bn(w)
    if se_ratio:
        total += se(m, int(round(se_ratio * c)))
    if projection:
        total += conv(1, c, w) + bn(w)
    return total


BLOCKS = [
    ("x_stride2", lambda x, name: regnet_block(x, 48, strides=2, group_width=16, name=name),
     (16, 16, 32), _block_params(32, 48, 16), (8, 8, 48)),
    ("x_identity", lambda x, name: regnet_block(x, 32, group_width=8, name=name),
     (8, 8, 32), _block_params(32, 32, 8, projection=False), (8, 8, 32)),
    ("y_stride2_se", lambda x, name: regnet_block(x, 48, strides=2, group_width=8,
                                                  se_ratio=0.25, name=name),
     (15, 15, 32), _block_params(32, 48, 8, se_ratio=0.25), (8, 8, 48)),
    ("y_identity_se", lambda x, name: regnet_block(x, 24, group_width=24, se_ratio=0.25,
                                                   name=name),
     (8, 8, 24), _block_params(24, 24, 24, se_ratio=0.25, projection=False), (8, 8, 24)),
    ("x_bottleneck_half", lambda x, name: regnet_block(x, 64, group_width=16,
                                                       bottleneck_ratio=0.5, name=name),
     (8, 8, 32), _block_params(32, 64, 16, b=0.5), (8, 8, 64)),
]


@pytest.mark.parametrize("label,block,input_shape,params,output_shape", BLOCKS,
                         ids=[b[0] for b in BLOCKS])
def test_block_harness(label, block, input_shape, params, output_shape, tmp_path):
    check_block(block, input_shape, params=params, output_shape=output_shape,
                tmp_path=tmp_path)


def test_block_layer_names_and_label():
    inputs = keras.Input((16, 16, 32))
    model = keras.Model(inputs, regnet_block(inputs, 48, strides=2, group_width=8,
                                             se_ratio=0.25, name="s1_b1"))
    assert sorted(layer.name for layer in model.layers[1:]) == sorted([
        "s1_b1_0_conv", "s1_b1_0_bn", "s1_b1_1_conv", "s1_b1_1_bn", "s1_b1_1_relu",
        "s1_b1_2_pad", "s1_b1_2_conv", "s1_b1_2_bn", "s1_b1_2_relu", "s1_b1_se_squeeze",
        "s1_b1_se_reduce", "s1_b1_se_expand", "s1_b1_se_excite", "s1_b1_3_conv", "s1_b1_3_bn",
        "s1_b1_add", "s1_b1_out"])
    assert model.get_layer("s1_b1_2_conv").groups == 6
    assert model.get_layer("s1_b1_se_reduce").filters == 8  # round(0.25 x 32 inputs)
    (row,) = cnnblocks.summarize(model)
    assert row.kind == "regnet_block"
    assert row.label == "1x1 48 → 3x3 48 g6 /2 → SE 0.25 → 1x1 48"


@pytest.mark.parametrize("kwargs, error, arg", [
    (dict(filters=0), ValueError, "filters"),
    (dict(filters=48, group_width=0), ValueError, "group_width"),
    (dict(filters=48, group_width=10), ValueError, "group_width"),   # 10 does not divide 48
    (dict(filters=48, bottleneck_ratio=0), ValueError, "bottleneck_ratio"),
    (dict(filters=48, bottleneck_ratio=float("nan")), ValueError, "bottleneck_ratio"),
    (dict(filters=4, bottleneck_ratio=0.1), ValueError, "bottleneck_ratio"),
    (dict(filters=48, se_ratio=-0.25), ValueError, "se_ratio"),
    (dict(filters=48, se_ratio="0.25"), TypeError, "se_ratio"),
    (dict(filters=48, se_ratio=0.01), ValueError, "se_ratio"),       # round(0.01 x 32) = 0
    (dict(filters=48, strides=0), ValueError, "strides"),
])
def test_block_argument_errors(kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}`"):
        regnet_block(keras.Input((8, 8, 32)), **kwargs)


# ------------------------------------------------------------------------- registered ------
KEYS = list(regnet.REGNET_SPECS)
#: Built at 32x32 in the default run: the 400MF-3.2GF models; the larger ones (8GF-128GF,
#: up to 645 million weights) in the heavy run.
LIGHT = {"regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf",
         "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf"}
PARAMS = [pytest.param(k, marks=() if k in LIGHT else pytest.mark.heavy) for k in KEYS]


@pytest.fixture(scope="module", params=PARAMS)
def key(request):
    return request.param


@pytest.fixture(scope="module")
def small(key):
    model = cnnblocks.create_model(key, input_shape=(32, 32, 3))
    yield model
    del model
    keras.backend.clear_session()


@pytest.mark.backend_independent  # counts and records: checked once, on TensorFlow
def test_counts_equal_torchvision_and_the_records(key, small):
    """Trainable = torchvision's `num_params`; multiply-adds at 224x224 round to its GFLOPS."""
    title, total, trainable, depth, gflops = regnet.COUNTS[key]
    assert small.count_params() == total
    assert sum(int(np.prod(w.shape)) for w in small.trainable_weights) == trainable
    for config in registry.entry(key).pretrained.values():
        assert config.num_params == trainable
    assert cnnblocks.weight_depth(small) == depth
    macs = cnnblocks.count_macs(small, input_shape=(224, 224, 3))
    assert round(macs / 1e9, 3) == gflops
    ref = cnnblocks.published.get(key)
    assert ref.params.matches(total) and ref.macs.matches(macs) and ref.depth.matches(depth)


@pytest.mark.backend_independent  # counts: checked once, on TensorFlow
def test_estimate_equals_the_built_model(key, small):
    """`cnnblocks.design.estimate`, without building: the built model's parameters, trainable
    weights, layer outputs and output shape at 32x32, its multiply-adds at 32 and at 224."""
    costs = design.estimate(key, input_shape=(32, 32, 3))
    assert costs.params == small.count_params()
    assert costs.trainable == sum(int(np.prod(w.shape)) for w in small.trainable_weights)
    assert costs.macs == cnnblocks.count_macs(small)
    assert costs.activations == sum(int(np.prod(layer.output.shape[1:]))
                                    for layer in small.layers[1:])
    assert costs.output_shape == (1000,)
    assert design.estimate(key).macs == cnnblocks.count_macs(small, input_shape=(224, 224, 3))
    widths = regnet.stages_of(key).widths
    assert [shape[-1] for _, shape in costs.stages] == [32, *widths]


@pytest.mark.backend_independent  # the layer graph's grouping: checked once, on TensorFlow
def test_one_summary_row_per_block_and_stage_taps(key, small):
    stages = regnet.stages_of(key)
    rows = cnnblocks.summarize(small)
    assert [r.kind for r in rows] == (["stem"] + ["regnet_block"] * sum(stages.depths)
                                      + ["head"])
    assert sum(r.params for r in rows) == small.count_params()
    taps = cnnblocks.features.stage_layers(small)
    assert taps == {"C1": "stem_relu",  # structural: the stride-2 stem
                    **{f"C{s + 1}": f"s{s}_b{d}_out" for s, d in enumerate(stages.depths, 1)}}


def test_builders_match_their_spec():
    """Each builder is registered under torchvision's name; stage widths as the issue states
    for RegNetY-400MF."""
    for key in KEYS:
        entry = registry.entry(key)
        assert entry.name == key and entry.family == "regnet"
        assert entry.builder.__doc__.startswith(regnet.COUNTS[key][0])
    y400 = regnet.stages_of("regnet_y_400mf")
    assert (y400.widths, y400.depths) == ((48, 104, 208, 440), (1, 3, 6, 6))


def test_decimal_names_do_not_collide():
    """`regnet_y_1_6gf` is RegNetY-1.6GF, not RegNetY-16GF (the canonical name keeps a decimal
    point between digits); every registered name is its own canonical name."""
    assert registry.entry("regnet_y_1_6gf").name == "regnet_y_1_6gf"
    assert registry.entry("RegNetY-1.6GF").name == "regnet_y_1_6gf"
    assert registry.entry("RegNetY1_6GF").name == "regnet_y_1_6gf"
    assert registry.entry("RegNetY-16GF").name == "regnet_y_16gf"
    assert registry.entry("regnetx3.2gf").name == "regnet_x_3_2gf"
    names = registry.list_models()
    assert len({registry.canonical(n) for n in names}) == len(names)


def test_weight_sets():
    y16 = registry.entry("regnet_y_16gf").pretrained
    assert list(y16) == ["torchvision", "torchvision_v2", "torchvision_swag",
                         "torchvision_swag_linear"]
    swag = y16["torchvision_swag"]
    assert (swag.input_size, swag.resize_size, swag.interpolation) == (384, 384, "bicubic")
    assert swag.file.filename == "regnet_y_16gf_swag-43afe44d.pth"
    assert y16["torchvision_v2"].resize_size == 232
    assert y16["torchvision"].resize_size == 256
    assert list(registry.entry("regnet_y_128gf").pretrained) == ["torchvision_swag",
                                                                  "torchvision_swag_linear"]
    with pytest.raises(ValueError, match="torchvision_swag"):
        cnnblocks.create_model("regnet_y_128gf", weights="torchvision")


# ------------------------------------------------------------------------------ design -----
def test_design_regnet_is_the_registered_model():
    ours = design.regnet(16, 48, 27.89, 2.09, 8, se_ratio=0.25, input_shape=(32, 32, 3))
    registered = cnnblocks.create_model("regnet_y_400mf", input_shape=(32, 32, 3))
    assert [(layer.name, layer.__class__) for layer in ours.layers] == [
        (layer.name, layer.__class__) for layer in registered.layers]
    assert ours.count_params() == registered.count_params() == 4_371_296
    assert ours.name == "regnet"
    keras.backend.clear_session()


@pytest.mark.parametrize("kwargs, error, arg", [
    (dict(se_ratio=0), ValueError, "se_ratio"),
    (dict(stem_width=0), ValueError, "stem_width"),
    (dict(pooling="mean", include_top=False), ValueError, "pooling"),
    (dict(classes=0), ValueError, "classes"),
])
def test_design_regnet_argument_errors(kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}`"):
        design.regnet(16, 48, 27.89, 2.09, 8, input_shape=(32, 32, 3), **kwargs)


def test_design_regnet_refuses_a_bad_design():
    with pytest.raises(ValueError, match="`w0`"):
        design.regnet(16, 50, 27.89, 2.09, 8)


# ---------------------------------------------------------------- torchvision, timm --------
def _outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def test_bottleneck_ratio_design_equals_torchvision(tv):
    """A design torchvision does not ship, with a bottleneck ratio of 1/2 (widths and group
    widths adjusted): the same parameters as torchvision's RegNet of the same BlockParams."""
    from torchvision.models import regnet as tv_regnet
    params = tv_regnet.BlockParams.from_init_params(14, 56, 38.84, 2.4, 16,
                                                    bottleneck_multiplier=0.5, se_ratio=0.25)
    theirs = sum(p.numel() for p in tv_regnet.RegNet(params).parameters())
    model = design.regnet(14, 56, 38.84, 2.4, 16, se_ratio=0.25, bottleneck_ratio=0.5,
                          input_shape=(32, 32, 3))
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == theirs
    keras.backend.clear_session()


@pytest.mark.parametrize("key", ["regnet_y_400mf", "regnet_x_400mf"])
def test_weights_file_converts_from_torchvision(oracle, tv, key, tmp_path):
    """`weights=<torchvision .pth>` at 64x64 (8x8 ... 2x2 inside: odd and even sizes)."""
    oracle.torch.manual_seed(0)
    theirs = oracle.randomize(getattr(tv.models, key)())
    x = oracle.images(64)
    expected = oracle.run(theirs, x)
    pth, _ = oracle.save(theirs, tmp_path, key)
    keras.backend.clear_session()
    ours = cnnblocks.create_model(key, weights=str(pth), input_shape=(64, 64, 3),
                                  classifier_activation=None)
    error = oracle.relative_error([_outputs(ours, x)], [expected])
    print(f"[conversion, {keras.backend.backend()}] {key} at 64: max relative error {error:.2e}")
    assert error <= TOLERANCE


def test_design_converts_from_timm(oracle, tmp_path):
    """pycls' RegNetX-200MF (timm's `regnetx_002`: d 13, w0 24, wa 36.44, wm 2.49, g 8) is no
    torchvision model: `design.regnet` builds it and loads timm's `.safetensors` file, exactly
    (its layout is the design's)."""
    timm = oracle.import_timm()
    oracle.torch.manual_seed(0)
    theirs = oracle.randomize(timm.create_model("regnetx_002", pretrained=False))
    x = oracle.images(64)
    expected = oracle.run(theirs, x)
    _, safetensors = oracle.save(theirs, tmp_path, "regnetx_002")
    keras.backend.clear_session()
    ours = design.regnet(13, 24, 36.44, 2.49, 8, weights=str(safetensors),
                         input_shape=(64, 64, 3), classifier_activation=None)
    assert sum(int(np.prod(w.shape)) for w in ours.trainable_weights) == sum(
        p.numel() for p in theirs.parameters())
    error = oracle.relative_error([_outputs(ours, x)], [expected])
    print(f"[conversion, {keras.backend.backend()}] timm regnetx_002 at 64: max relative "
          f"error {error:.2e}")
    assert error <= TOLERANCE
