"""`cnnblocks.design.estimate` for the multi-branch and separable families (Xception,
Inception V3, GoogLeNet, Inception-ResNet V2, ConvNeXt, NASNet): every registered model at its
own size, and for one model per family the heads without a top (pooling None, "avg", "max"), a
different `classes`, an odd non-square input and every variant the builder has, each compared
with the built model's parameters, trainable parameters, multiply-adds, activations and output
shape, exactly; and the inputs the builders refuse.

Counts do not depend on the backend: the TensorFlow pass runs this file.
"""

import pytest

import keras

from cnnblocks import design, registry
from estimates import estimated, measured

pytestmark = pytest.mark.backend_independent


def _check(key, **kwargs):
    model = registry.entry(key, "model").builder(weights=None, **kwargs)
    assert estimated(design.estimate(key, **kwargs)) == measured(model)
    keras.backend.clear_session()


#: Every registered model of the families, built once at its own size; the largest (over about
#: 2 s to build) are heavy.
LIGHT = ("xception", "inception_v3", "googlenet", "inception_resnet_v2", "convnext_tiny",
         "convnext_small", "convnext_base", "nasnet_mobile")
HEAVY = ("convnext_large", "convnext_xlarge", "nasnet_large")


@pytest.mark.parametrize("key", [*LIGHT, *(pytest.param(k, marks=pytest.mark.heavy)
                                           for k in HEAVY)])
def test_registered_models(key):
    _check(key)


#: One model per family: without a top (pooling None, "avg", "max"), another `classes`, an odd
#: non-square input at least the builder's smallest.
HEADS = [dict(include_top=False, input_shape=(97, 75, 3)),
         dict(include_top=False, pooling="avg", input_shape=(75, 97, 3)),
         dict(include_top=False, pooling="max", input_shape=(80, 81, 3)),
         dict(classes=10, input_shape=(99, 77, 3))]


@pytest.mark.parametrize("kwargs", HEADS, ids=["no_top", "avg", "max", "classes"])
@pytest.mark.parametrize("key", ["xception", "inception_v3", "googlenet",
                                 "inception_resnet_v2", "convnext_tiny", "nasnet_mobile"])
def test_heads_and_odd_sizes(key, kwargs):
    _check(key, **kwargs)


#: Every structure other than the default, with a top and without on an odd size.
VARIANTS = [("inception_v3", "torchvision"), ("googlenet", "torchvision")]


@pytest.mark.parametrize("key, variant", VARIANTS)
def test_variants(key, variant):
    _check(key, variant=variant)
    _check(key, variant=variant, include_top=False, pooling="avg", input_shape=(97, 75, 3))


@pytest.mark.parametrize("key, shape, match", [
    ("xception", (70, 90, 3), "at least 71x71"),
    ("inception_v3", (80, 74, 3), "at least 75x75"),
    ("inception_resnet_v2", (74, 80, 3), "at least 75x75"),
])
def test_below_the_smallest_input(key, shape, match):
    """The estimator refuses what the builder refuses, with the builder's message."""
    with pytest.raises(ValueError, match=match) as built:
        registry.entry(key, "model").builder(weights=None, input_shape=shape)
    with pytest.raises(ValueError, match=match) as estimated_:
        design.estimate(key, input_shape=shape)
    assert str(estimated_.value) == str(built.value)


@pytest.mark.parametrize("key", ["xception", "googlenet", "convnext_tiny",
                                 "nasnet_mobile"])
def test_an_unknown_variant_is_refused(key):
    with pytest.raises(ValueError, match="variant"):
        design.estimate(key, variant="caffe")


def test_googlenet_smallest_input():
    """GoogLeNet takes 32x32 (a 1x1 map after inception_5b), with its ceil-mode pools."""
    _check("googlenet", input_shape=(32, 33, 3))
    _check("googlenet", variant="torchvision", input_shape=(33, 32, 3))


def test_nasnet_smallest_input():
    """NASNet at 32x32 and odd sizes: the factorized reductions' shifted paths and the
    stride-2 paddings follow each size's parity."""
    _check("nasnet_mobile", include_top=False, input_shape=(32, 35, 3))
