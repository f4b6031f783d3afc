"""Every registered architecture written as ONNX and LiteRT in float32 by `cnnblocks.export`
and verified in its runtime (max relative error <= 1e-5 against Keras).

The fast suite exports one model of each family, its smallest by parameters
(`design.estimate`, so a family added later is covered without editing this file), where that
has at most 30 million parameters (18 of the 22 families today). The `export_sweep` cases export
every other registered model: about 80 models twice is longer than CI's budget on two cores,
and the largest need about 10 GB each to convert, so `./dev.sh test` leaves them out and
`./dev.sh test-export-sweep` runs them. Models are built at 96x96 with 10 classes and their
logits as outputs (a softmax of random weights saturates and would hide differences), each in
a process of its own.
"""

import inspect
import json
import os
import subprocess
import sys

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


#: The fast suite's bound: converting a model of more parameters (AlexNet, VGG, Wide ResNet,
#: Inception-ResNet-V2) peaks near 10 GB in tf2onnx, too much beside another test worker.
FAST_PARAMS = 30e6
SMALLEST = sorted(_smallest(f) for f in FAMILIES.values())
LIGHT = [name for name in SMALLEST if design.estimate(name).params <= FAST_PARAMS]
ALL = sorted(m.name for f in FAMILIES.values() for m in f.models)


def _build(name):
    entry = cnnblocks.registry.entry(name)
    kwargs = dict(weights=None, input_shape=(SIZE, SIZE, 3), classes=10)
    if "classifier_activation" in inspect.signature(entry.builder).parameters:
        kwargs["classifier_activation"] = None
    keras.utils.set_random_seed(0)
    return cnnblocks.create_model(name, **kwargs)


def export_both(name, folder):
    """`{format: max relative error}` of `name` written as ONNX and LiteRT into `folder`."""
    model = _build(name)
    return {format: cnnblocks.export(model, os.path.join(folder, f"{name}{suffix}"),
                                     format).max_relative_error
            for format, suffix in FORMATS}


def _check(name, tmp_path):
    # A process per model: TensorFlow and tf2onnx keep gigabytes of each conversion (22 in
    # one process grew past 15 GB and were killed beside another test worker).
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
            "import test_export_architectures as t; "
            "print(json.dumps(t.export_both(sys.argv[2], sys.argv[3])))")
    done = subprocess.run([sys.executable, "-c", code, os.path.dirname(__file__), name,
                           str(tmp_path)], capture_output=True, text=True, timeout=1200,
                          env=dict(os.environ, KERAS_BACKEND="tensorflow",
                                   TF_CPP_MIN_LOG_LEVEL="3"))
    assert done.returncode == 0, done.stderr[-3000:]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(errors) == {format for format, _ in FORMATS}
    assert all(0 <= e <= deploy.FLOAT32_TOLERANCE for e in errors.values()), errors


def test_one_model_per_family():
    assert len(SMALLEST) == len(FAMILIES) and {"squeezenet1_1", "convnext_tiny"} <= set(LIGHT)
    assert len(LIGHT) >= 18


@pytest.mark.parametrize("name", LIGHT)
def test_the_smallest_model_of_each_family_exports(name, tmp_path):
    _check(name, tmp_path)


@pytest.mark.heavy
@pytest.mark.export_sweep
@pytest.mark.parametrize("name", sorted(set(ALL) - set(LIGHT)))
def test_every_registered_model_exports(name, tmp_path):
    _check(name, tmp_path)
