"""`cnnblocks.design.compound_scale`: a registered model's widths, depths and input size scaled
under its family's rounding rules, checked against the models the rules must reproduce.

- EfficientNet: B0 scaled by keras.applications' coefficients (1.0, 1.1, 240), (1.4, 1.8, 380)
  and (2.0, 3.1, 600) has B1's 7,856,239, B4's 19,466,823 and B7's 66,658,687 parameters (the
  issue's figures, keras.applications' counts), and B1 is layer for layer EfficientNetB1.
  Every registered B-k's own design equals B0 scaled by its coefficients, stage for stage.
- ResNet and RegNet: scaling by 1 is the registered model layer for layer; other scalings
  have the stages the written rule gives (RegNet: `w0` and `wa` times the width, `w0` to a
  multiple of 8) and, for ResNet, the parameters of a formula written here.
- Bad input: every argument named, in one short message.

Parameter counts do not depend on the backend: the TensorFlow pass runs this file.
"""

import math

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import design
from cnnblocks.architectures import efficientnet, regnet

pytestmark = pytest.mark.backend_independent

#: keras.applications' coefficients (efficientnet.py) and parameter counts (its docs table,
#: the issue's figures; `EfficientNetB{k}(weights=None).count_params()`).
KERAS_B = {"b1": (1.0, 1.1, 240, 7_856_239), "b4": (1.4, 1.8, 380, 19_466_823),
           "b7": (2.0, 3.1, 600, 66_658_687)}


def _layers(model):
    return [(layer.name, layer.__class__.__name__, layer.count_params())
            for layer in model.layers]


# --- EfficientNet ------------------------------------------------------------------------------

def test_b0_scaled_is_b1_layer_for_layer():
    w, d, r, params = KERAS_B["b1"]
    point = design.compound_scale("efficientnet_b0", width=w, depth=d, resolution=r)
    ours = point.build()
    registered = cnnblocks.EfficientNetB1(weights=None)
    assert ours.count_params() == registered.count_params() == params
    assert _layers(ours) == _layers(registered)
    assert ours.input_shape == (None, 240, 240, 3) and ours.name == "efficientnet_b0_scaled"
    rows = cnnblocks.summarize(ours)
    assert sum(row.kind == "mbconv_block" for row in rows) == point.blocks == 23
    keras.backend.clear_session()


@pytest.mark.heavy
@pytest.mark.parametrize("key", ["b4", "b7"])
def test_b0_scaled_has_the_parameters_of(key):
    w, d, r, params = KERAS_B[key]
    model = design.compound_scale("efficientnet_b0", w, d, r).build()
    assert model.count_params() == params
    assert model.input_shape == (None, r, r, 3)
    keras.backend.clear_session()


@pytest.mark.parametrize("k", range(8))
def test_every_registered_efficientnet_is_b0_scaled(k):
    """B-k's own design (`compound_scale` by 1) is B0 scaled by B-k's coefficients: the same
    coefficients, stages and input size; its stages are those its builder builds."""
    w, d, r, _ = efficientnet.EFFICIENTNET_SCALING[f"b{k}"]
    own = design.compound_scale(f"efficientnet_b{k}")
    scaled = design.compound_scale("efficientnet_b0", w, d, r)
    assert (own.width, own.depth, own.resolution) == (w, d, r)
    assert own.stages == scaled.stages
    # round_filters: multiples of 8, at least 90% of the scaled width; round_repeats: ceil
    for (blocks, channels), (_, repeats, out, _, _) in zip(own.stages,
                                                           efficientnet.EFFICIENTNET_B0):
        assert blocks == math.ceil(d * repeats)
        assert channels % 8 == 0 and channels >= 0.9 * out * w
        assert abs(channels - out * w) <= 4 or channels > out * w


def test_scaling_a_design_multiplies_the_coefficients():
    b4 = design.compound_scale("efficientnet_b0", 1.4, 1.8, 380)
    again = design.compound_scale(b4)
    assert again.stages == b4.stages and again.resolution == 380
    assert design.compound_scale("efficientnet_b4").stages == b4.stages
    wider = design.compound_scale(design.compound_scale("efficientnet_b4"), width=1.1)
    assert wider.width == pytest.approx(1.54) and wider.base == "efficientnet_b4"
    assert wider.stages == efficientnet.scaled_stages(1.54, 1.8)


def test_efficientnet_refuses_more_blocks_than_letters():
    """A stage's blocks are named `block6a` to `block6z`: 27 would need another letter."""
    with pytest.raises(ValueError, match=r"`depth`.*at most 26"):
        design.compound_scale("efficientnet_b0", depth=7.0)   # stage 6: ceil(7 * 4) = 28
    assert max(b for b, _ in design.compound_scale("efficientnet_b0", depth=6.5).stages) == 26


def test_scaled_designs_take_no_pretrained_weights():
    point = design.compound_scale("efficientnet_b0", 1.0, 1.1, 240)
    with pytest.raises(ValueError, match="`weights='imagenet'`"):
        point.build(weights="imagenet")


# --- ResNet -------------------------------------------------------------------------------------

def _bottleneck_resnet_params(stages, widths, stem, classes=1000):
    """keras.applications' ResNet v1 (conv biases, 4 numbers per BN channel): stem 7x7, per
    stage a projection module and identity modules of 1x1 w, 3x3 w, 1x1 4w."""
    def unit(k, c_in, c_out):
        return k * k * c_in * c_out + c_out + 4 * c_out
    total, c = unit(7, 3, stem), stem
    for n, w in zip(stages, widths):
        for i in range(n):
            total += unit(1, c, w) + unit(3, w, w) + unit(1, w, 4 * w)
            if i == 0:
                total += unit(1, c, 4 * w)
            c = 4 * w
    return total + c * classes + classes


@pytest.mark.parametrize("variant", ["keras", "torchvision"])
def test_resnet50_scaled_by_one_is_resnet50(variant):
    ours = design.compound_scale("resnet50").build(variant=variant)
    registered = cnnblocks.ResNet50(weights=None, variant=variant)
    assert _layers(ours) == _layers(registered)
    keras.backend.clear_session()


@pytest.mark.parametrize("width, depth", [(2.0, 0.5), (0.5, 2.0), (1.3, 1.2)])
def test_scaled_resnet50_stages_and_parameters(width, depth):
    point = design.compound_scale("ResNet-50", width=width, depth=depth)
    repeats = [math.ceil(depth * n) for n in (3, 4, 6, 3)]
    widths = [max(8, int(w * width + 4) // 8 * 8) for w in (64, 128, 256, 512)]
    widths = [w + 8 if w < 0.9 * v * width else w for w, v in zip(widths, (64, 128, 256, 512))]
    assert point.stages == tuple((n, 4 * w) for n, w in zip(repeats, widths))
    stem = max(8, int(64 * width + 4) // 8 * 8)
    model = point.build(input_shape=(224, 224, 3))
    assert model.count_params() == _bottleneck_resnet_params(repeats, widths, stem)
    assert model.get_layer("conv1_conv").filters == stem
    keras.backend.clear_session()


def test_scaled_resnet18_keeps_its_structure():
    """ResNet-18 (torchvision's structure only) deepened: basic modules, 4, 4, 4, 4."""
    point = design.compound_scale("resnet18", depth=2.0)
    assert point.stages == ((4, 64), (4, 128), (4, 256), (4, 512))
    model = point.build(include_top=False, input_shape=(64, 64, 3))
    assert sum(row.kind == "residual_module" for row in cnnblocks.summarize(model)) == 16
    keras.backend.clear_session()


# --- RegNet -------------------------------------------------------------------------------------

def test_regnet_scaled_by_one_is_the_registered_model():
    ours = design.compound_scale("regnet_y_400mf").build(input_shape=(32, 32, 3))
    registered = cnnblocks.create_model("regnet_y_400mf", input_shape=(32, 32, 3))
    assert _layers(ours) == _layers(registered)
    keras.backend.clear_session()


@pytest.mark.parametrize("key, width, depth", [("regnet_y_400mf", 2.0, 1.5),
                                               ("regnet_x_800mf", 0.5, 1.0),
                                               ("regnet_x_400mf", 1.0, 0.6)])
def test_scaled_regnet_is_the_rule_of_the_scaled_parameters(key, width, depth):
    d, w0, wa, wm, g, se = regnet.REGNET_SPECS[key]
    point = design.compound_scale(key, width, depth)
    w0 = max(8, round(w0 * width / 8) * 8)         # the nearest multiple of 8
    rule = design.regnet_stages(math.ceil(d * depth), w0, wa * width, wm, g)
    assert point.stages == tuple(zip(rule.depths, rule.widths))
    assert point.spec.se_ratio == se and point.blocks == math.ceil(d * depth)
    model = point.build(include_top=False, input_shape=(32, 32, 3))
    assert model.output.shape[-1] == rule.widths[-1]
    keras.backend.clear_session()


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, arg", [
    (dict(width=0), ValueError, "width"), (dict(width=-1.5), ValueError, "width"),
    (dict(width=float("nan")), ValueError, "width"), (dict(width="2"), TypeError, "width"),
    (dict(width=True), TypeError, "width"), (dict(depth=float("inf")), ValueError, "depth"),
    (dict(depth=np.array([1.0, 2.0])), TypeError, "depth"), (dict(depth=0), ValueError, "depth"),
    (dict(resolution=16), ValueError, "resolution"), (dict(resolution=0), ValueError,
                                                       "resolution"),
    (dict(resolution=224.5), TypeError, "resolution"),
])
def test_bad_coefficients_are_named(kwargs, error, arg):
    with pytest.raises(error, match=f"`{arg}`") as info:
        design.compound_scale("efficientnet_b0", **kwargs)
    assert len(str(info.value)) < 300 and "\n" not in str(info.value)


@pytest.mark.parametrize("base, error, match", [
    (3, TypeError, "`base`"), (None, TypeError, "`base`"),
    ("efficientnet_b9", ValueError, "`base`"),
    ("vgg16", ValueError, "VGG family has no scaling rule"),
])
def test_bad_bases_are_named(base, error, match):
    with pytest.raises(error, match=match):
        design.compound_scale(base)


def test_a_design_of_no_registered_model_is_refused():
    from cnnblocks.architectures import FAMILIES
    point = FAMILIES["regnet"].design(13, 24, 36.44, 2.49, 8)
    with pytest.raises(ValueError, match="`base` is a design of no registered model"):
        design.compound_scale(point, width=2.0)


def test_scalable_models():
    names = design.scalable_models()
    assert "efficientnet_b0" in names and "resnet50" in names and "regnet_x_32gf" in names
    assert len(names) == 8 + 5 + 15 and names == sorted(names)


def test_docstring_examples():
    import doctest
    result = doctest.testmod(design, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    keras.backend.clear_session()
