"""Multi-device training with `keras.distribution` (JAX) and `cnnblocks.distribution`.

The layout tests run in this process, on any backend (a `LayoutMap` is data). The training
tests run `tests/distribution_worker.py` in fresh processes on the JAX backend with virtual CPU
devices (`XLA_FLAGS=--xla_force_host_platform_device_count=N`), whatever backend pytest runs
on; they are skipped where JAX is not installed (`pip install cnnblocks[jax]`).

Figures measured when these tests were written (jax 0.10.2, keras 3.15.1, 2-core AMD EPYC
under load; ResNet18 at 32x32, 10 classes, SGD 0.01 momentum 0.9, 3 steps of batch 8, float64):

    DataParallel vs one device:   losses max relative difference 1.6e-5 (step 1: 1.1e-7),
                                  weights max |difference| 3.2e-6
    ModelParallel vs one device:  losses 3.9e-6 (step 1: 7e-8), weights 3.4e-6
    2 processes on loopback:      weights identical (difference 0.0); ~45 s CPU, 60-120 s wall

Why float64: on this network and random labels, training amplifies rounding; in float32 a
1e-7 relative perturbation of the start weights already moved the weights by ~1e-2 in three
steps, which would hide a real difference. In float64 the distributed runs stay within ~1e-5
of one device, while a real change of semantics is far larger: the loss of the same batch with
batch-norm statistics per half-batch (what per-device statistics would give) differs by more
than 1e-3 (the worker measures it: `per_device_bn_loss`).
"""

import doctest
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras
import cnnblocks
from cnnblocks import distribution

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "distribution_worker.py"
MESH = keras.distribution.DeviceMesh((1, 2), ("batch", "model"), devices=["cpu:0", "cpu:1"])


def jax_installed():
    return importlib.util.find_spec("jax") is not None


needs_jax = pytest.mark.skipif(not jax_installed(),
                               reason="needs JAX (pip install cnnblocks[jax]; "
                                      "./dev.sh test-backends installs it)")


def worker_env(devices):
    """This environment on the JAX backend with `devices` virtual CPU devices (the backend
    is set explicitly: a torch-backend pytest must not hand its backend down)."""
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env.pop("CUDA_VISIBLE_DEVICES", None)
    return env


# ------------------------------------------------------------------ layout_map ----------------
@pytest.fixture(scope="module")
def resnet18():
    keras.utils.set_random_seed(0)
    return cnnblocks.ResNet18(weights=None, input_shape=(32, 32, 3), classes=10)


def test_layout_map_shards_every_conv_bn_and_dense_variable(resnet18):
    layouts = distribution.layout_map(resnet18, MESH)
    # ResNet18: 20 convolutions (kernel + bias), 20 batch norms (4 variables), 1 dense (2).
    assert len(resnet18.weights) == 20 * 2 + 20 * 4 + 2 == 122
    assert sorted(layouts) == sorted(v.path for v in resnet18.weights)
    assert layouts["conv1_conv/kernel"].axes == (None, None, None, "model")
    assert layouts["conv1_conv/bias"].axes == ("model",)
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert layouts[f"conv2_block1_1_bn/{name}"].axes == ("model",)
    assert layouts["predictions/kernel"].axes == (None, "model")
    assert layouts["conv1_conv/kernel"].device_mesh is MESH
    assert distribution.check_layout_map(layouts, resnet18)["conv1_conv/kernel"] == [
        "conv1_conv/kernel"]


def test_layout_map_kinds_and_indivisible_dimensions():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="c")(inputs)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(x)
    x = keras.layers.SeparableConv2D(6, 1, name="sep")(x)
    x = keras.layers.Conv2DTranspose(4, 2, name="up")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Dense(5, name="odd")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, x)
    layouts = distribution.layout_map(model, MESH)
    axes = {key: layouts[key].axes for key in layouts}
    assert axes["c/kernel"] == (None, None, None, "model")
    assert axes["dw/kernel"] == (None, None, "model", None)      # (3, 3, in=4, multiplier=2)
    assert axes["dw/bias"] == ("model",)
    assert axes["sep/depthwise_kernel"] == (None, None, "model", None)
    assert axes["sep/pointwise_kernel"] == (None, None, None, "model")
    assert axes["up/kernel"] == (None, None, "model", None)      # (2, 2, out=4, in=6)
    assert axes["bn/moving_variance"] == ("model",)
    assert "odd/kernel" not in axes and "odd/bias" not in axes   # 5 units on 2 devices
    only_bn = distribution.layout_map(model, MESH, kinds=("batchnorm",))
    assert sorted(only_bn) == ["bn/beta", "bn/gamma", "bn/moving_mean", "bn/moving_variance"]


def test_keras_documented_patterns_are_refused(resnet18):
    """Keras' LayoutMap example keys assume automatic layer names: on a cnnblocks model they
    match nothing, and ModelParallel would replicate everything without a word."""
    keras_example = keras.distribution.LayoutMap(MESH)
    keras_example[".*conv2d.*kernel"] = (None, None, None, "model")
    keras_example[".*dense.*kernel"] = (None, "model")
    assert all(keras_example[v.path] is None for v in resnet18.weights)  # the silent failure
    with pytest.raises(ValueError, match=r"'\.\*conv2d\.\*kernel' matches no variable.*"
                                         r"conv1_conv/kernel"):
        distribution.check_layout_map(keras_example, resnet18)
    with pytest.raises(ValueError, match=r"'\.\*dense\.\*kernel' matches no variable"):
        distribution.layout_map(resnet18, MESH, patterns={".*dense.*kernel": (None, "model")})


def test_layout_map_patterns_override_the_type_rules(resnet18):
    layouts = distribution.layout_map(resnet18, MESH, patterns={
        "predictions/kernel": ("model", None)})
    assert layouts["predictions/kernel"].axes == ("model", None)
    assert len(list(layouts)) == 122  # the pattern's variable is not mapped twice
    with pytest.raises(ValueError, match=r"has 1 dimension\(s\), but it matches "
                                         r"'predictions/kernel' of shape \(512, 10\)"):
        distribution.layout_map(resnet18, MESH, patterns={"predictions/.*": ("model",)})


# Nested models with same-named layers: Keras gives their variables one path (the layer's, not
# the nested model's), and ModelParallel looks layouts up by path.

def _branch(name, layer, *, scope=False):
    """A nested model `name` around one layer on an 8-channel 4x4 map."""
    def build():
        inputs = keras.Input((4, 4, 8))
        return keras.Model(inputs, layer()(inputs), name=name)
    if scope:
        with keras.name_scope(name):
            return build()
    return build()


def _two_branches(first, second):
    inputs = keras.Input((4, 4, 8))
    return keras.Model(inputs, [first(inputs), second(inputs)], name="two_branches")


def test_nested_models_with_one_path_and_one_layout_share_the_key():
    """Two nested models, each with a Dense `head` of 4 and 6 units: the variables `head/kernel`
    (8, 4) and (8, 6) have one path and need one layout; the key serves both."""
    model = _two_branches(_branch("a", lambda: keras.layers.Dense(4, name="head")),
                          _branch("b", lambda: keras.layers.Dense(6, name="head")))
    assert [v.path for v in model.weights] == ["head/kernel", "head/bias"] * 2
    layouts = distribution.layout_map(model, MESH)
    assert sorted(layouts) == ["head/bias", "head/kernel"]
    for variable in model.weights:  # what ModelParallel looks up for each variable
        expected = (None, "model") if variable.name == "kernel" else ("model",)
        assert layouts[variable.path].axes == expected


@pytest.mark.parametrize("second, layouts", [
    (lambda: keras.layers.Dense(5, name="head"), "((None, 'model') vs (None, None))"),
    (lambda: keras.layers.Conv2D(4, 1, name="head"), "((None, 'model') vs (None, None, None, "
                                                     "'model'))"),
], ids=["indivisible units", "another layer type"])
def test_nested_models_with_one_path_and_two_layouts_are_refused(second, layouts):
    """Before, the second variable silently got the first's layout (a wrong rank, or a split
    of 5 units over 2 devices that JAX refuses when the model is built)."""
    model = _two_branches(_branch("a", lambda: keras.layers.Dense(4, name="head")),
                          _branch("b", second))
    with pytest.raises(ValueError) as info:
        distribution.layout_map(model, MESH)
    text = str(info.value)
    assert text.startswith("`model` has layers 'a/head' and 'b/head' with one variable path "
                           "'head/kernel' but different layouts " + layouts), text
    assert "keras.name_scope(name)" in text and len(text) < 300


def test_nested_models_built_in_a_name_scope_get_their_own_paths():
    """The fix the message suggests: `keras.name_scope(name)` prefixes the paths."""
    model = _two_branches(_branch("a", lambda: keras.layers.Dense(4, name="head"), scope=True),
                          _branch("b", lambda: keras.layers.Conv2D(5, 1, name="head"),
                                  scope=True))
    layouts = distribution.layout_map(model, MESH)
    axes = {key: layouts[key].axes for key in layouts}
    assert axes == {"a/head/kernel": (None, "model"), "a/head/bias": ("model",)}  # 5: no split
    assert layouts["b/head/kernel"] is None


def test_a_pattern_is_checked_against_every_variable_of_its_path():
    model = _two_branches(_branch("a", lambda: keras.layers.Dense(4, name="head")),
                          _branch("b", lambda: keras.layers.Conv2D(4, 1, name="head")))
    with pytest.raises(ValueError, match=r"has 2 dimension\(s\), but it matches 'head/kernel' "
                                         r"of shape \(1, 1, 8, 4\)"):
        distribution.layout_map(model, MESH, patterns={"head/kernel": (None, "model")})


@pytest.mark.parametrize("pattern", ["conv1_conv/(kernel", "[", "*kernel", "(?P<x>a)(?P<x>b)"])
def test_an_invalid_regular_expression_is_a_value_error_naming_the_argument(resnet18, pattern):
    with pytest.raises(ValueError) as info:
        distribution.layout_map(resnet18, MESH, patterns={pattern: (None,)})
    text = str(info.value)
    assert text.startswith(f"`patterns` key {pattern!r} is not a valid regular expression ("), text
    assert " at position " in text and "\n" not in text
    layouts = keras.distribution.LayoutMap(MESH)
    layouts[pattern] = (None,)
    with pytest.raises(ValueError, match=r"^`layouts` key .* is not a valid regular expression"):
        distribution.check_layout_map(layouts, resnet18)


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(model="resnet18"), TypeError, "`model` must be a keras.Model, received 'resnet18'"),
    (dict(mesh=(1, 2)), TypeError, "`mesh` must be a keras.distribution.DeviceMesh, received"),
    (dict(axis="data"), ValueError, "`axis` must be one of the mesh's axis names ('batch', "
                                    "'model'), received 'data'"),
    (dict(kinds="conv"), TypeError, "`kinds` must be a non-empty tuple"),
    (dict(kinds=("conv", "lstm")), ValueError, "received 'lstm'"),
    (dict(patterns=[".*"]), TypeError, "`patterns` must be a dict"),
    (dict(patterns={"predictions/bias": "model"}), TypeError,
     "`patterns['predictions/bias']` must be a tuple"),
], ids=["model", "mesh", "axis", "kinds-str", "kinds-unknown", "patterns", "pattern-axes"])
def test_layout_map_bad_arguments(resnet18, kwargs, error, words):
    call = dict(model=resnet18, mesh=MESH)
    call.update(kwargs)
    with pytest.raises(error) as info:
        distribution.layout_map(call.pop("model"), call.pop("mesh"), **call)
    assert words in str(info.value)


def test_unbuilt_model_is_refused():
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="`model` must be a built model with variables"):
        distribution.variable_paths(model)


def test_docstring_examples():
    result = doctest.testmod(distribution, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


# ------------------------------------------------------------- training on JAX ----------------
@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One worker run: a ResNet18 trained on 1 device, under DataParallel and ModelParallel."""
    out = tmp_path_factory.mktemp("distribution") / "compare.json"
    result = subprocess.run([sys.executable, str(WORKER), "compare", str(out)],
                            env=worker_env(2), capture_output=True, text=True, timeout=600,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(out.read_text())


def relative(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.abs(b)))


@pytest.mark.heavy
@needs_jax
@pytest.mark.parametrize("strategy", ["data_parallel", "model_parallel"])
def test_distributed_training_equals_one_device(compared, strategy):
    single, run = compared["single"], compared[strategy]
    print(strategy, run["losses"], single["losses"], run["max_weight_difference"])
    assert compared["devices"] == ["cpu:0", "cpu:1"]
    assert relative(run["losses"][0], single["losses"][0]) < 1e-6  # same start, same batch
    assert relative(run["losses"], single["losses"]) < 1e-4
    assert run["max_weight_difference"] < 1e-4
    # A real change (per-half-batch BN statistics) would be far outside these bounds.
    assert relative(compared["per_device_bn_loss"], single["losses"][0]) > 1e-3


@pytest.mark.heavy
@needs_jax
def test_data_parallel_splits_the_batch_and_replicates_the_variables(compared):
    run = compared["data_parallel"]
    assert compared["single"]["batch"] == {"shard_shape": [8, 32, 32, 3], "devices": 1,
                                           "replicated": True}
    # Seen inside the compiled train step: each device gets half of the batch of 8.
    assert run["batch"] == {"shard_shape": [4, 32, 32, 3], "devices": 2, "replicated": False}
    assert run["all_sharded"] == 0 and run["all"] == 122  # every variable on both devices
    for layout in list(run["variables"].values()) + list(run["optimizer"].values()):
        assert layout["devices"] == 2 and layout["replicated"], layout


@pytest.mark.heavy
@needs_jax
def test_model_parallel_splits_the_variables_by_output_channel(compared):
    run = compared["model_parallel"]
    assert compared["layout_keys"] == 122
    assert run["batch"] == {"shard_shape": [8, 32, 32, 3], "devices": 2, "replicated": True}
    assert run["all_sharded"] == run["all"] == 122
    want = {"conv1_conv/kernel": ([None, None, None, "model"], [7, 7, 3, 32]),
            "conv1_bn/moving_mean": (["model"], [32]),
            "conv5_block2_2_conv/kernel": ([None, None, None, "model"], [3, 3, 512, 256]),
            "predictions/kernel": ([None, "model"], [512, 5]),
            "predictions/bias": (["model"], [5])}
    for path, (spec, shard) in want.items():
        got = run["variables"][path]
        assert (got["spec"], got["shard_shape"], got["devices"]) == (spec, shard, 2), path
    # The optimizer's slots follow their variables.
    momentum = run["optimizer"]["sgd/conv1_conv_kernel_momentum"]
    assert momentum["spec"] == [None, None, None, "model"]
    assert momentum["shard_shape"] == [7, 7, 3, 32]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.heavy
@needs_jax
def test_two_processes_on_loopback_train_identical_weights(tmp_path):
    """`keras.distribution.initialize` joins two processes (one CPU device each) on
    127.0.0.1; DataParallel over both; each feeds its own half of every batch."""
    port = free_port()
    outs = [tmp_path / f"process{i}.npz" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, str(WORKER), "process", str(port), str(i),
                               str(outs[i])], env=worker_env(1), cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in procs:  # bounded: never leave a process waiting for its peer
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for i, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0, f"process {i}:\n{log[-3000:]}"
        assert f"process {i} of 2: 2 devices (1 local)" in log, log[-2000:]
    first, second = (np.load(path) for path in outs)
    assert first.files == second.files and len(first.files) == 1 + 122
    for key in first.files:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    assert np.all(np.isfinite(first["losses"]))


# ------------------------------------------------------ examples/distributed_training.py --------
EXAMPLE = ROOT / "examples" / "distributed_training.py"


def run_example(backend, *args):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("XLA_FLAGS", None)
    return subprocess.run([sys.executable, str(EXAMPLE), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.heavy
@pytest.mark.backend_independent
@needs_jax
@pytest.mark.parametrize("strategy, lines", [
    ("data-parallel", ["strategy: DataParallel, 2 device(s), batch split",
                       "global batch 16 = 8 per replica",
                       "variables: 0 of 22 split, 22 replicated, over 2 device(s)"]),
    ("model-parallel", ["strategy: ModelParallel, 2 device(s), variables split on the 'model' "
                        "axis", "variables: 22 of 22 split, 0 replicated, over 2 device(s)"]),
])
def test_example_on_jax(strategy, lines):
    result = run_example("jax", "--strategy", strategy, "--cpu-replicas", "2", "--model",
                         "vgg11", "--steps", "2", "--batch-size", "16")
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout)
    assert "jax CPU devices: cpu:0, cpu:1" in result.stdout
    for line in lines:
        assert line in result.stdout
    assert re.search(r"epoch 1: loss \d+\.\d+, accuracy", result.stdout)


# (backend, strategy, words of the refusal). Cheap: the example stops before building.
REFUSALS = [
    ("jax", "mirrored", "tf.distribute.MirroredStrategy is a TensorFlow strategy: on the jax "
                        "backend it does nothing and the model would train on one device. "
                        "Use --strategy default or data-parallel or model-parallel here"),
    ("tensorflow", "data-parallel", "keras.distribution, which Keras 3.15 implements for the "
                                    "JAX backend only. Use --strategy default or mirrored"),
    ("torch", "model-parallel", "Use --strategy default here, or set KERAS_BACKEND=jax."),
]


@pytest.mark.backend_independent
@pytest.mark.parametrize("backend, strategy, words", REFUSALS, ids=[r[1] for r in REFUSALS])
def test_example_refuses_a_strategy_of_another_backend(backend, strategy, words):
    if importlib.util.find_spec({"tensorflow": "tensorflow"}.get(backend, backend)) is None:
        pytest.skip(f"{backend} is not installed")
    result = run_example(backend, "--strategy", strategy)
    assert result.returncode == 2
    assert f"error: --strategy {strategy} does not apply to the {backend} backend" in (
        result.stderr)
    assert words in result.stderr, result.stderr[-2000:]
