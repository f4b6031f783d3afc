"""Every registered architecture written as ONNX and LiteRT in float32 by `cnnblocks.export`
and verified in its runtime (max relative error <= 1e-5 against Keras).

The fast suite exports one model of each family: its smallest by parameters
(`design.estimate`), so a family added later is covered without editing this file. The
`export_sweep` cases export every registered model: about 80 models twice is longer than CI's
budget on two cores, so `./dev.sh test` leaves them out and `./dev.sh test-export-sweep` runs
them. Models are built at 96x96 with 10 classes and their logits as outputs (a softmax of
random weights saturates and would hide differences).
"""

import inspect

import pytest

import keras

import cnnblocks
from cnnblocks import deploy, design
from cnnblocks.architectures import FAMILIES

pytestmark = [pytest.mark.tf_only("Keras' ONNX and LiteRT writers run on TensorFlow"),
              pytest.mark.per_architecture]

SIZE = 96
FORMATS = (("onnx", ".onnx"), ("litert", ".tflite"))


def _smallest(family):
    return min(family.models, key=lambda m: (design.estimate(m.name).params, m.name)).name


LIGHT = sorted(_smallest(f) for f in FAMILIES.values())
ALL = sorted(m.name for f in FAMILIES.values() for m in f.models)


def _build(name):
    entry = cnnblocks.registry.entry(name)
    kwargs = dict(weights=None, input_shape=(SIZE, SIZE, 3), classes=10)
    if "classifier_activation" in inspect.signature(entry.builder).parameters:
        kwargs["classifier_activation"] = None
    keras.utils.set_random_seed(0)
    return cnnblocks.create_model(name, **kwargs)


def _check(name, tmp_path):
    model = _build(name)
    for format, suffix in FORMATS:
        result = cnnblocks.export(model, tmp_path / f"{name}{suffix}", format)
        assert 0 <= result.max_relative_error <= deploy.FLOAT32_TOLERANCE, (format, result)
    keras.backend.clear_session()


def test_one_model_per_family():
    assert len(LIGHT) == len(FAMILIES) and "squeezenet1_1" in LIGHT and "mobilenet_v3_small" \
        in LIGHT


@pytest.mark.parametrize("name", LIGHT)
def test_the_smallest_model_of_each_family_exports(name, tmp_path):
    _check(name, tmp_path)


@pytest.mark.heavy
@pytest.mark.export_sweep
@pytest.mark.parametrize("name", sorted(set(ALL) - set(LIGHT)))
def test_every_registered_model_exports(name, tmp_path):
    _check(name, tmp_path)
