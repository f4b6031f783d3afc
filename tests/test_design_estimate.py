"""`cnnblocks.design.estimate`: a design's parameters, multiply-adds, activations and stage
shapes without building it, equal to the built model's, exactly.

Every registered RegNet is compared in tests/test_regnet.py (its module-scoped builds); here,
every registered ResNet (both structures) and EfficientNet, random points of the RegNet design
space (seeded: the same 12 designs every run, X and Y, bottleneck ratios 1 and 1/2, group
widths up to the bottleneck) and scaled ResNets, EfficientNets and RegNets, each built once at
a small input size, with and without a top, and the bad-input messages. The
speed against building is measured in `benchmarks/estimate_vs_build.py`, not here.

Counts do not depend on the backend: the TensorFlow pass runs this file.
"""

import numpy as np
import pytest

import keras

import cnnblocks
from cnnblocks import design, registry
from cnnblocks.architectures import FAMILIES
from estimates import estimated as _estimated, measured as _measured

pytestmark = pytest.mark.backend_independent


def _random_designs(n, seed=0):
    rng = np.random.default_rng(seed)
    designs = []
    while len(designs) < n:
        params = dict(depth=int(rng.integers(4, 21)), w0=8 * int(rng.integers(1, 13)),
                      wa=float(np.round(rng.uniform(8, 64), 2)),
                      wm=float(np.round(rng.uniform(1.5, 3.0), 2)),
                      group_width=int(rng.choice([1, 8, 16, 24])),
                      se_ratio=[None, 0.25][len(designs) % 2],
                      bottleneck_ratio=[1.0, 0.5][(len(designs) // 2) % 2])
        try:
            designs.append(FAMILIES["regnet"].design(**params))
        except ValueError:          # a draw the rule refuses (no channel left): draw again
            continue
    return designs


DESIGNS = _random_designs(12)


@pytest.mark.parametrize("point", DESIGNS, ids=[f"design{i}" for i in range(len(DESIGNS))])
def test_random_regnet_designs(point):
    i = DESIGNS.index(point)
    kwargs = [dict(include_top=False, input_shape=(40, 32, 3)),
              dict(classes=10, input_shape=(32, 48, 3)),
              dict(include_top=False, pooling="max", input_shape=(64, 64, 3))][i % 3]
    model = point.build(**kwargs)
    assert _estimated(design.estimate(point, **kwargs)) == _measured(model)
    keras.backend.clear_session()


@pytest.mark.parametrize("key, width, depth", [("regnet_y_400mf", 1.5, 1.25),
                                               ("regnet_x_400mf", 0.75, 0.5)])
def test_scaled_regnets(key, width, depth):
    point = design.compound_scale(key, width, depth, resolution=64)
    model = point.build()
    assert model.input_shape == (None, 64, 64, 3)
    assert _estimated(design.estimate(point)) == _measured(model)
    keras.backend.clear_session()


#: The registered ResNets and EfficientNets (the RegNets: tests/test_regnet.py), each built once
#: at its own size (EfficientNet's explicit paddings depend on it) with every figure compared;
#: the largest builds are heavy.
LIGHT = ("resnet18", "resnet34", "resnet50", "efficientnet_b0", "efficientnet_b1",
         "efficientnet_b2", "efficientnet_b3")
HEAVY = ("resnet101", "resnet152", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6",
         "efficientnet_b7")


@pytest.mark.parametrize("key", [*LIGHT, *(pytest.param(k, marks=pytest.mark.heavy)
                                           for k in HEAVY)])
def test_registered_resnets_and_efficientnets(key):
    model = registry.entry(key, "model").builder(weights=None)      # at its own size
    assert _estimated(design.estimate(key)) == _measured(model)
    keras.backend.clear_session()


@pytest.mark.parametrize("key", ["resnet18", "resnet50"])
@pytest.mark.parametrize("variant", ["keras", "torchvision"])
def test_resnet_variants_and_heads(key, variant):
    """Both structures (biases, padding and the bottleneck's stride differ), with and without
    a top, on odd sizes."""
    for kwargs in (dict(classes=10, input_shape=(33, 40, 3)),
                   dict(include_top=False, pooling="avg", input_shape=(40, 33, 3)),
                   dict(include_top=False, input_shape=(35, 32, 3))):
        model = FAMILIES["resnet"].model(key).builder(weights=None, variant=variant, **kwargs)
        costs = design.estimate(key, variant=variant, **kwargs)
        assert _estimated(costs) == _measured(model)
        keras.backend.clear_session()


@pytest.mark.parametrize("key, width, depth, kwargs", [
    ("resnet50", 0.75, 1.4, dict(variant="torchvision")),
    ("resnet18", 1.3, 0.5, dict(include_top=False, pooling="max")),
    ("efficientnet_b0", 1.25, 0.8, dict(classes=10)),
    ("efficientnet_b2", 0.5, 1.3, dict(include_top=False)),
])
def test_scaled_resnets_and_efficientnets(key, width, depth, kwargs):
    point = design.compound_scale(key, width, depth, resolution=64)
    model = point.build(weights=None, input_shape=(64, 64, 3), **kwargs)  # static without top
    assert _estimated(design.estimate(point, **kwargs)) == _measured(model)
    stages = [shape[-1] for name, shape in design.estimate(point).stages
              if name not in ("preprocessing", "stem", "top")]
    assert stages == [channels for _, channels in point.stages]
    keras.backend.clear_session()


def test_estimable_models():
    names = design.estimable_models()
    assert names == sorted(names)
    assert all(f.estimate is not None for f in FAMILIES.values())
    assert names == sorted(m.name for f in FAMILIES.values() for m in f.models)
    assert {"regnet_x_16gf", "nasnet_large", "convnext_xlarge"} <= set(names)


def test_a_family_without_an_estimator_is_named(monkeypatch):
    import dataclasses
    monkeypatch.setitem(FAMILIES, "vgg", dataclasses.replace(FAMILIES["vgg"], estimate=None))
    with pytest.raises(ValueError, match="`model`='vgg16': the VGG family has no estimator"):
        design.estimate("vgg16")


@pytest.mark.parametrize("model, kwargs, error, match", [
    (3, {}, TypeError, "`model`"),
    ("regnet_z_400mf", {}, ValueError, "`model`"),
    ("resnet50", dict(variant="caffe"), ValueError, "`variant`"),
    ("regnet_y_400mf", dict(variant="keras"), ValueError, "`variant`"),
    ("efficientnet_b0", dict(variant="torchvision"), ValueError, "`variant`"),
    ("regnet_y_400mf", dict(input_shape=(16, 16, 3)), ValueError, "at least 32"),
    ("regnet_y_400mf", dict(input_shape=(None, None, 3)), ValueError, "`input_shape`"),
    ("regnet_y_400mf", dict(input_shape=(64, 64)), ValueError, "`input_shape`"),
    ("regnet_y_400mf", dict(include_top="yes"), TypeError, "`include_top`"),
    ("regnet_y_400mf", dict(include_top=False, pooling="mean"), ValueError, "`pooling`"),
    ("regnet_y_400mf", dict(classes=0), ValueError, "`classes`"),
])
def test_bad_input_is_named(model, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        design.estimate(model, **kwargs)
    assert len(str(info.value)) < 400 and "\n" not in str(info.value)


def test_the_benchmark_runs(capsys):
    """`benchmarks/estimate_vs_build.py` runs and writes its table (no timing asserted; it
    stops when an estimate differs from the built model)."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "estimate_vs_build.py"
    spec = importlib.util.spec_from_file_location("estimate_vs_build", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--models", "regnet_x_400mf", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "| regnet_x_400mf |" in out and "speed-up" in out
    keras.backend.clear_session()
