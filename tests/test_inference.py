"""`fold_batchnorm` and `optimize_for_inference`: correctness only (the speed is measured by
`benchmarks/bench_vs_keras.py`, never by a unit test).

Every architecture is built once per module at the smallest input its builder accepts, with
its batch-norm statistics randomized (moving mean and variance, gamma, beta), so that folding
changes every kernel and bias; the reference is the original model in inference mode
(`training=False`). Errors are `max |folded - original| / max |original|` on the logits
(`classifier_activation=None`) of a fixed batch.

Figures measured when these tests were written (TF 2.21 CPU, keras 3.15, fixed seeds), which
the bounds below leave room around:

    fold_batchnorm, max relative error: ResNet50 4.3e-7, Xception 1.2e-7, InceptionV3 2.3e-7,
        GoogLeNet (batchnorm) 3.0e-7                                       (bound: 1e-4)
    optimize_for_inference(dtype="bfloat16") on ResNet50 at 32x32, batch of 8: max relative
        error of the logits 5.9e-3, top-5 overlap with float32 1.00   (bounds: 0.1, 0.6)

The bfloat16 bounds are loose on purpose: bfloat16 keeps 8 bits of mantissa, and the error
grows with depth and input size (`benchmarks/bench_vs_keras.py` reports it at 224x224).
"""

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras
from keras import layers

import cnnblocks
from harness import SubclassedModel
from cnnblocks import fold_batchnorm, optimize_for_inference
from cnnblocks.testing import randomize_batchnorm

ROOT = Path(__file__).resolve().parents[1]
FOLD_TOLERANCE = 1e-4

# (id, builder, input size): the smallest input each builder accepts with its top on.
ARCHITECTURES = [
    ("resnet50", functools.partial(cnnblocks.ResNet50, weights=None), 32),
    ("xception", functools.partial(cnnblocks.Xception, weights=None), 71),
    ("inception_v3", functools.partial(cnnblocks.InceptionV3, weights=None), 75),
    ("googlenet_bn", lambda **kw: cnnblocks.GoogLeNet(normalization="batchnorm", **kw), 32),
]


def relative_error(got, want):
    got, want = keras.tree.flatten(got), keras.tree.flatten(want)
    got, want = map(keras.ops.convert_to_numpy, got), map(keras.ops.convert_to_numpy, want)
    return max(float(np.abs(g - w).max() / np.abs(w).max()) for g, w in zip(got, want))


def batch(size, n=2, seed=1):
    return np.random.RandomState(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


def bn_names(model):
    return {layer.name for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, layers.BatchNormalization)}


@pytest.fixture(scope="module")
def built():
    """`built(id) -> (original, folded, x, output before folding)`, each built once."""
    cache = {}

    def get(key):
        if key not in cache:
            build, size = {row[0]: row[1:] for row in ARCHITECTURES}[key]
            keras.utils.set_random_seed(0)
            model = build(input_shape=(size, size, 3), classifier_activation=None)
            randomize_batchnorm(model)
            x = batch(size)
            before = model(x, training=False)
            cache[key] = model, fold_batchnorm(model), x, before
        return cache[key]
    return get


@pytest.fixture(params=[row[0] for row in ARCHITECTURES])
def folded(request, built):
    return built(request.param)


def test_fold_batchnorm_keeps_the_outputs(folded):
    model, result, x, before = folded
    error = relative_error(result(x), before)
    print(f"{model.name}: fold_batchnorm max relative error {error:.1e}")
    assert error < FOLD_TOLERANCE


def test_fold_batchnorm_removes_every_bn_and_keeps_the_names(folded):
    model, result, _, _ = folded
    names = [layer.name for layer in model.layers]
    assert bn_names(model), "the architecture has batch normalization to fold"
    assert not bn_names(result)
    # Keras orders `layers` by graph depth, which removing BNs can shift: compare as sets.
    assert sorted(layer.name for layer in result.layers) == sorted(
        n for n in names if n not in bn_names(model))
    assert result.name == model.name


def test_fold_batchnorm_changes_only_the_folded_layers(folded):
    model, result, _, _ = folded
    for new in result.layers:
        old = model.get_layer(new.name)
        want = old.get_config()
        if isinstance(new, (layers.Conv2D, layers.SeparableConv2D, layers.Dense)) and (
                not old.use_bias and new.use_bias):
            want["use_bias"] = True  # A BN was folded into a conv without a bias.
        assert new.get_config() == want, new.name
        if not isinstance(new, (layers.Conv2D, layers.SeparableConv2D)):
            for a, b in zip(new.get_weights(), old.get_weights()):
                np.testing.assert_array_equal(a, b)


def test_fold_batchnorm_leaves_the_original_untouched(folded):
    model, _, x, before = folded
    assert bn_names(model)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)),
                                  keras.ops.convert_to_numpy(before))


def test_folded_model_saves_and_loads_in_safe_mode(built, tmp_path):
    _, result, x, _ = built("googlenet_bn")
    path = tmp_path / "folded.keras"
    result.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)),
                                  keras.ops.convert_to_numpy(result(x)))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in result.layers]
    assert not bn_names(loaded)


# ------------------------------------------------------- every layer kind, graph shapes ----
def _graph_zoo():
    """Two dict inputs, two dict outputs, a nested functional model and a nested Sequential,
    each foldable layer kind, and BNs that must stay (the comments say why)."""
    inner_in = keras.Input((8, 8, 6))
    y = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(inner_in)
    y = layers.BatchNormalization(center=False, name="dw_bn")(y)
    inner = keras.Model(inner_in, layers.ReLU(name="inner_relu")(y), name="inner")
    seq = keras.Sequential([keras.Input((8, 8, 12)),
                            layers.Conv2D(4, 1, use_bias=False, name="seq_conv"),
                            layers.BatchNormalization(scale=False, name="seq_bn")], name="seq")
    a, b = keras.Input((8, 8, 3), name="a"), keras.Input((8, 8, 3), name="b")
    xa = layers.BatchNormalization(name="ca_bn")(layers.Conv2D(6, 3, padding="same",
                                                               name="ca")(a))
    xb = layers.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, name="cb")(b)
    xb = layers.BatchNormalization(name="cb_bn")(xb)
    x = seq(inner(layers.Add(name="add")([xa, xb])))
    # Stays: the activation sits between the convolution and the BN.
    c = layers.Conv2D(4, 3, padding="same", activation="relu", name="c_act")(x)
    c = layers.BatchNormalization(name="c_act_bn")(c)
    # Stays: the convolution's output has a second reader.
    d = layers.Conv2D(4, 3, padding="same", name="d")(x)
    d1, d2 = layers.BatchNormalization(name="d_bn")(d), layers.ReLU(name="d_relu")(d)
    x = layers.Concatenate(name="cat")([c, d1, d2])
    # Stays: the BN normalizes the height axis, not the convolution's channels.
    e = layers.BatchNormalization(axis=1, name="e_bn")(layers.Conv2D(5, 1, name="e")(x))
    e = layers.Reshape((64, 5), name="reshape")(e)
    e = layers.BatchNormalization(name="c1d_bn")(layers.Conv1D(3, 1, name="c1d")(e))
    features = layers.Flatten(name="flatten")(e)
    logits = layers.BatchNormalization(name="fc_bn")(layers.Dense(7, name="fc")(features))
    model = keras.Model({"a": a, "b": b}, {"logits": logits, "features": features}, name="zoo")
    for m in (model, inner, seq):
        randomize_batchnorm(m, seed=len(m.layers))
    return model


@pytest.fixture(scope="module")
def zoo():
    keras.utils.set_random_seed(0)
    model = _graph_zoo()
    rng = np.random.RandomState(0)
    x = {k: rng.normal(size=(2, 8, 8, 3)).astype("float32") for k in ("a", "b")}
    return model, fold_batchnorm(model), x


def test_fold_every_layer_kind_multi_input_output_nested(zoo):
    model, result, x = zoo
    assert relative_error(result(x), model(x, training=False)) < FOLD_TOLERANCE
    assert bn_names(result) == {"c_act_bn", "d_bn", "e_bn"}
    assert [layer.name for layer in result.get_layer("inner").layers][1:] == ["dw",
                                                                              "inner_relu"]
    # The nested Sequential comes back as a functional model: its input layer is listed.
    assert [layer.name for layer in result.get_layer("seq").layers][1:] == ["seq_conv"]
    assert set(result.output) == {"logits", "features"}
    assert [t.name for t in keras.tree.flatten(result.input)] == ["a", "b"]


def test_fold_zoo_saves_and_loads(zoo, tmp_path):
    _, result, x = zoo
    result.save(tmp_path / "zoo.keras")
    loaded = keras.models.load_model(tmp_path / "zoo.keras", safe_mode=True)
    assert relative_error(loaded(x), result(x)) == 0


def test_shared_layers_are_shared_and_their_bn_stays():
    keras.utils.set_random_seed(0)
    a, b = keras.Input((6, 6, 2), name="a"), keras.Input((6, 6, 2), name="b")
    conv = layers.Conv2D(3, 3, name="shared_conv")  # called twice: its kernel cannot change
    bn = layers.BatchNormalization(name="shared_bn")  # called twice as well
    x = layers.Add(name="add")([bn(conv(a)), bn(conv(b))])
    model = keras.Model([a, b], x)
    randomize_batchnorm(model)
    result = fold_batchnorm(model)
    x = [batch(6, seed=s)[..., :2] for s in (2, 3)]
    assert [layer.name for layer in result.layers].count("shared_conv") == 1
    assert bn_names(result) == {"shared_bn"}
    assert relative_error(result(x), model(x, training=False)) == 0


def test_fold_sequential():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(3, 3, name="conv"),
                              layers.BatchNormalization(name="bn"), layers.ReLU(name="relu")])
    randomize_batchnorm(model)
    result = fold_batchnorm(model)
    x = batch(6, seed=2)[..., :2]
    assert [layer.name for layer in result.layers][1:] == ["conv", "relu"]
    assert relative_error(result(x), model(x, training=False)) < FOLD_TOLERANCE


# ------------------------------------------------------------------------ bfloat16 --------
@pytest.fixture
def resnet50(built):
    return built("resnet50")[0]


def test_optimize_for_inference_float32_is_fold_batchnorm(zoo):
    model, folded_zoo, x = zoo
    result = optimize_for_inference(model)
    assert bn_names(result) == bn_names(folded_zoo)
    assert result.get_layer("ca").compute_dtype == "float32"
    assert relative_error(result(x), folded_zoo(x)) == 0


def test_optimize_for_inference_bfloat16(resnet50):
    result = optimize_for_inference(resnet50, dtype="bfloat16")
    assert not bn_names(result)
    assert result.input.dtype == "float32" and result.output.dtype == "float32"
    assert result.get_layer("conv1_conv").compute_dtype == "bfloat16"
    assert result.get_layer("conv1_conv").variable_dtype == "float32"
    assert result.get_layer("conv5_block3_out").compute_dtype == "bfloat16"
    assert result.get_layer("predictions").compute_dtype == "float32"  # the output layer
    x = batch(32, n=8)
    want = keras.ops.convert_to_numpy(resnet50(x, training=False))
    got = keras.ops.convert_to_numpy(result(x))
    assert got.dtype == np.float32
    error = relative_error(got, want)
    top5 = np.mean([len(set(np.argsort(-w)[:5]) & set(np.argsort(-g)[:5])) / 5
                    for w, g in zip(want, got)])
    print(f"bfloat16 ResNet50: max relative error {error:.1e}, top-5 overlap {top5:.2f}")
    assert error < 0.1
    assert top5 >= 0.6


def test_bfloat16_softmax_output_is_float32():
    inputs = keras.Input((4,))
    x = layers.BatchNormalization(name="bn")(layers.Dense(8, name="fc1")(inputs))
    x = layers.Dense(3, activation="softmax", name="predictions")(x)
    result = optimize_for_inference(keras.Model(inputs, x), dtype="bfloat16")
    assert result.get_layer("fc1").compute_dtype == "bfloat16"
    probabilities = keras.ops.convert_to_numpy(result(np.ones((2, 4), "float32")))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1, rtol=1e-6)


# ---------------------------------------------------------------------- validation --------
@pytest.mark.parametrize("function", [fold_batchnorm, optimize_for_inference])
@pytest.mark.parametrize("bad", ["resnet50", None, layers.Dense(2)])
def test_non_model_is_a_type_error(function, bad):
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model, received"):
        function(bad)


def test_subclassed_model_is_a_value_error():
    model = SubclassedModel()
    model(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match=r"`model` must be a functional model.*Subclassed"):
        fold_batchnorm(model)
    inputs = keras.Input((3,))
    outer = keras.Model(inputs, model(inputs))
    with pytest.raises(ValueError, match=r"nested model 'subclassed'"):
        fold_batchnorm(outer)


@pytest.mark.parametrize("dtype", ["float16", "bf16", None])
def test_bad_dtype_is_a_value_error(dtype):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match=rf"`dtype` must be one of .*received {dtype!r}"):
        optimize_for_inference(model, dtype=dtype)


# ------------------------------------------------------------------------ benchmark -------
@pytest.mark.heavy
@pytest.mark.tf_only(reason="checks the TensorFlow page: tf.function, oneDNN")
def test_benchmark_smoke(tmp_path):
    """`benchmarks/bench_vs_keras.py --quick` runs and writes its table (no timing asserted)."""
    out = tmp_path / "bench.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_vs_keras.py"), "--quick",
         "--models", "vgg16", "--input-size", "32", "--no-scaling", "--no-inference",
         "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert "| vgg16 | 32 |" in text and "TensorFlow" in text and "matmul peak" in text
    assert "oneDNN CPU kernels on (TF_ENABLE_ONEDNN_OPTS=1)" in text


@pytest.mark.heavy
@pytest.mark.tf_only(reason="the runtimes table's exports run on TensorFlow")
def test_runtimes_benchmark_smoke(tmp_path):
    """`benchmarks/runtimes.py`: its workers start, answer and are timed in turns (no timing
    asserted)."""
    out = tmp_path / "runtimes.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "runtimes.py"), "--models", "mobilenet_v2",
         "--size", "32", "--batch", "2", "--repeats", "2", "--target-seconds", "0.05",
         "--contenders", "keras_tf,ort_fp32,ort_int8", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text()
    assert "| MobileNetV2 32x32, batch 2 |" in text and "CPU flags present:" in text
    assert "| cnnblocks.export ONNX, onnxruntime float32 | " in text and "1.00x" in text
    assert "cnnblocks' reduced-precision path (cnnblocks.export ONNX int8" in text


@pytest.fixture(scope="module")
def bench():
    """`benchmarks/bench_vs_keras.py` as a module, without leaving its environment default."""
    import importlib.util
    import os
    saved = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    spec = importlib.util.spec_from_file_location(
        "bench_vs_keras", ROOT / "benchmarks" / "bench_vs_keras.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if saved is None:
        os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
    else:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = saved
    return module


def test_benchmark_ratio_and_interval(bench):
    # Medians 10 and 8 -> 1.25; every resample of these pairs lies in [8/9, 11/7].
    ratio, low, high = bench.median_ratio([9, 10, 11, 10, 10], [8, 7, 8, 9, 8])
    assert ratio == pytest.approx(1.25)
    assert 10 / 9 - 1e-9 <= low <= ratio <= high <= 11 / 7 + 1e-9
    assert bench.median_ratio([3.0], [2.0]) == (1.5, 1.5, 1.5)
    # Deterministic (seeded resampling).
    assert bench.median_ratio([1, 2, 3], [2, 2, 1]) == bench.median_ratio([1, 2, 3], [2, 2, 1])


@pytest.mark.parametrize("ratio, low, high, goal, higher, want", [
    (1.20, 1.10, 1.30, 1.15, True, "met"),
    (1.11, 1.04, 1.16, 1.15, True, "missed, within noise"),
    (0.85, 0.80, 0.89, 1.50, True, "**missed**"),
    (0.95, 0.90, 1.05, 1.00, False, "met"),
    (1.03, 0.98, 1.10, 1.00, False, "missed, within noise"),
    (1.20, 1.10, 1.30, 1.00, False, "**missed**"),
])
def test_benchmark_verdict(bench, ratio, low, high, goal, higher, want):
    assert bench.verdict(ratio, low, high, goal, higher) == want


def test_benchmark_turns_alternate(bench):
    assert [bench.alternating("AB", turn) for turn in range(3)] == [
        ["A", "B"], ["B", "A"], ["A", "B"]]


@pytest.mark.heavy
def test_scaling_smoke():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scaling.py"), "--quick", "--depths", "18"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| ResNet-18 (basic) | 2 + 2 + 2 + 2 | 18 |" in result.stdout
    assert "11,703,912" in result.stdout  # cnnblocks.ResNet18 docstring (Keras counting)
