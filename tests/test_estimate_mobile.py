"""`cnnblocks.design.estimate` for the mobile families (MobileNet, MobileNetV2, MobileNetV3,
MNASNet, ShuffleNet V2, EfficientNetV2): every figure (parameters, trainable parameters,
multiply-adds, activations of one image, output shape) equals the built model's, exactly.

Every registered model of these families is built once at its own size with its top; one
model per family also without a top (pooling None, "avg", "max"), with other `classes`, at an
odd non-square size and in every structure (`variant=`) its builder has. The largest builds
are heavy. Counts do not depend on the backend: the TensorFlow pass runs this file.
"""

import pytest

import keras

from cnnblocks import design, registry
from estimates import estimated, measured

pytestmark = pytest.mark.backend_independent


def _compare(key, **kwargs):
    """Builds `key` (weights None, at its own size unless `input_shape` is given: MobileNetV3
    otherwise takes any size) and compares it with its estimate."""
    entry = registry.entry(key, "model")
    size = entry.default_size
    kwargs.setdefault("input_shape", (size, size, 3))
    model = entry.builder(weights=None, **kwargs)
    assert estimated(design.estimate(key, **kwargs)) == measured(model)
    keras.backend.clear_session()


#: Every registered model of the families; the builds over ~2 s on a CPU are heavy.
LIGHT = ("mobilenet", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5",
         "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
         "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "efficientnet_v2_b0", "efficientnet_v2_b1",
         "efficientnet_v2_b2", "efficientnet_v2_b3", "efficientnet_v2_s")
HEAVY = ("efficientnet_v2_m", "efficientnet_v2_l")


@pytest.mark.parametrize("key", [*LIGHT, *(pytest.param(k, marks=pytest.mark.heavy)
                                           for k in HEAVY)])
def test_registered_models(key):
    _compare(key)


#: Without a top (no pooling, "avg", "max"), other classes, odd non-square sizes.
HEADS = (dict(include_top=False, input_shape=(97, 75, 3)),
         dict(include_top=False, pooling="avg", input_shape=(64, 48, 3)),
         dict(include_top=False, pooling="max", input_shape=(75, 97, 3)),
         dict(classes=10, input_shape=(97, 75, 3)))


@pytest.mark.parametrize("kwargs", HEADS, ids=["notop", "avg", "max", "classes"])
@pytest.mark.parametrize("key", ["mobilenet", "mobilenet_v2", "mobilenet_v3_small",
                                 "mnasnet0_75", "shufflenet_v2_x1_0", "efficientnet_v2_b0"])
def test_heads_and_sizes(key, kwargs):
    _compare(key, **kwargs)


#: The structures besides the builders' defaults, with and without a top, on odd sizes.
@pytest.mark.parametrize("key, variant", [
    ("mobilenet_v2", "torchvision"), ("efficientnet_v2_s", "keras"),
    ("efficientnet_v2_s", "torchvision"),
    pytest.param("efficientnet_v2_m", "torchvision", marks=pytest.mark.heavy),
    pytest.param("efficientnet_v2_l", "torchvision", marks=pytest.mark.heavy)])
@pytest.mark.parametrize("kwargs", [dict(), dict(include_top=False, pooling="avg",
                                                 input_shape=(97, 75, 3))],
                         ids=["top", "notop"])
def test_variants(key, variant, kwargs):
    _compare(key, variant=variant, **kwargs)


@pytest.mark.parametrize("model, kwargs, error, match", [
    ("mobilenet", dict(variant="torchvision"), ValueError, "`variant`"),
    ("mobilenet_v2", dict(variant="caffe"), ValueError, "`variant`"),
    ("mobilenet_v3_large", dict(variant="torchvision"), ValueError, "`variant`"),
    ("mnasnet1_0", dict(variant="keras"), ValueError, "`variant`"),
    ("shufflenet_v2_x1_0", dict(variant="keras"), ValueError, "`variant`"),
    ("efficientnet_v2_b0", dict(variant="torchvision"), ValueError, "`variant`"),
])
def test_bad_input_is_named(model, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        design.estimate(model, **kwargs)
    assert len(str(info.value)) < 400 and "\n" not in str(info.value)
