#!/usr/bin/env python
"""cnnblocks against keras.applications on this machine: build time, forward throughput, peak
memory and achieved GFLOP/s, plus the inference rewrites (`cnnblocks.optimize_for_inference`)
on ResNet-50, unless `--no-runtimes` the inference runtimes (`runtimes.py`: onnxruntime float32
and int8, LiteRT and torchvision against keras.applications on TensorFlow and JAX, ResNet50 and
MobileNetV2) and, unless `--no-scaling`, the ResNet depth-scaling table (`scaling.py`).

Run it on a quiet machine (nothing else using the cores): every figure is a wall-clock time.
A full run takes tens of minutes on a 2-core CPU.

    ./dev.sh bench                  # everything, also written to docs/benchmarks.md
    python benchmarks/bench_vs_keras.py --models resnet50,vgg16 --repeats 7
    python benchmarks/bench_vs_keras.py --quick --models resnet50 --input-size 32   # smoke test

What is measured, for each architecture both libraries have (VGG16, VGG19, ResNet50, ResNet101,
ResNet152, Xception, InceptionV3, ResNet50V2, ResNet101V2, ResNet152V2, DenseNet121/169/201,
InceptionResNetV2, MobileNet, MobileNetV2, MobileNetV3Small/Large, EfficientNetB0-B7: every
family record with a `keras_name`), with random weights (`weights=None`), the classifier on and
each model's ImageNet input size unless `--input-size`:

- build: seconds to call the builder (`keras.backend.clear_session()` before each build);
- throughput: images per second through `tf.function(lambda x: model(x, training=False),
  jit_compile=False)` (not `predict`) on one fixed random batch of 1 and of 16, after warm-up
  calls; each timing runs enough calls for about `--target-seconds`; one timing is one sample;
- peak memory: growth of the peak resident set size (`VmHWM` in `/proc/self/status`) of a fresh
  Python process from just after importing TensorFlow, Keras and cnnblocks to just after
  building the model and running two batch-16 forwards. (`tracemalloc` does not see
  TensorFlow's allocations, and `tf.config.experimental.get_memory_info("CPU:0")` is not
  supported on CPU.) It includes the weights, TensorFlow's graph and kernel caches and the
  activations of the largest forward. It varies by about 20% between identical runs (the
  order in which TensorFlow's threads allocate), hence the median of `--memory-repeats`;
- GFLOP/s: 2 x multiply-adds (`cnnblocks.count_macs`: convolutions and dense layers) x batch /
  median seconds per batch, against the machine's float32 peak, measured here as the best rate
  of a square `tf.matmul` (`--matmul-size`, default 2048).

The two libraries alternate, in turns A B, B A, A B, ... (the inference table's four
variants likewise), so that slow drifts of the machine hit both and neither always goes
first; each figure is the median over `--repeats` samples, and the ratio is
cnnblocks / keras.applications of the medians (build time: lower is better; throughput:
higher), followed by a 95% bootstrap interval (the A-B pairs resampled 2000 times): on a
shared or virtual machine one call can vary by 25%, and the interval says how far to trust the
ratio. The goals of the project are a build ratio <= 1.00 and a throughput ratio >= 0.98.

TensorFlow's oneDNN kernels are turned on (`TF_ENABLE_ONEDNN_OPTS=1` unless set otherwise):
TensorFlow enables them by itself only on CPUs with AVX512-VNNI/BF16 or AMX. On the 2-core
AVX2 AMD EPYC this was written on they were faster (keras ResNet50 at batch 16: 1.21 s per
batch against 1.46 s with Eigen's kernels, one run), and they are the only kernels that fuse a
convolution with its bias, residual add and ReLU. The page records which kernels ran.

On the JAX and PyTorch backends (`KERAS_BACKEND=jax` / `torch`), the same comparison table is
measured with each backend's own inference call in place of `tf.function`: JAX,
`jax.jit(model.stateless_call)` (XLA, the variables passed as arguments); PyTorch, the eager
`model(x, training=False)` under `torch.no_grad()`. `./dev.sh bench` adds the ResNet50 row on
both to the page, after the TensorFlow figures; every section and table names its backend.
The TensorFlow-only parts, the inference-rewrites table (its goals are for TensorFlow's oneDNN
kernels) and the oneDNN switch, are refused on another backend with a message.

The inference tables (ResNet50 and MobileNetV2, when in `--models`; TensorFlow only) compare the
keras.applications model (the baseline), cnnblocks', its `fold_batchnorm` copy and its
`optimize_for_inference(dtype="bfloat16")` copy, the four interleaved. Their error is measured
against the float32 cnnblocks model on a fixed batch of 8 random images, after the model's BN
statistics were randomized (so that folding does work):
max |difference| / max |reference| over the softmax outputs, and the mean overlap of the top-5
classes. Goals (`INFERENCE_GOALS`): ResNet50 folded >= 1.15x keras' images/s at batch 16,
folded + bfloat16 >= 1.5x; MobileNetV2 folded >= 1.2x; these speed-ups get
`--inference-repeats` samples.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow's oneDNN kernels (fused convolution + bias + residual add + ReLU) are on by default
# only on CPUs with AVX512-VNNI/BF16 or AMX; elsewhere (AVX2 CPUs such as AMD EPYC) they are off
# unless asked for. On by default here, on every machine, so that every library is measured
# with the same, fastest CPU kernels; `TF_ENABLE_ONEDNN_OPTS=0 ./dev.sh bench` measures Eigen's.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import numpy as np  # noqa: E402
import keras  # noqa: E402

import cnnblocks  # noqa: E402

BACKEND = keras.backend.backend()
#: The backends' names as the page writes them.
BACKEND_TITLES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
if BACKEND == "tensorflow":
    import tensorflow as tf  # noqa: E402  (the benchmark is outside the package)
    tf.get_logger().setLevel("ERROR")  # one tf.function per model and batch size: retracing ok
HERE = os.path.dirname(os.path.abspath(__file__))

#: Smallest input of the models that need more than 32x32.
_MIN_SIZES = {"xception": 71, "inception_v3": 75, "inception_resnet_v2": 75}
#: Architectures both libraries have, from the family records (those with a `keras_name`):
#: name -> (cnnblocks builder, keras.applications builder, ImageNet input size, smallest size).
SHARED = {entry.name: (entry.builder.__name__, entry.keras_name, entry.default_size,
                       _MIN_SIZES.get(entry.name, 32))
          for family in cnnblocks.architectures.FAMILIES.values() for entry in family.models
          if entry.keras_name}
LIBRARIES = ("cnnblocks", "keras")
BATCHES = (1, 16)
BUILD_GOAL, SPEED_GOAL = 1.00, 0.98
FOLD_GOAL, BF16_GOAL = 1.15, 1.5
#: The inference table's models and their goals (batch-16 speed-up over keras.applications):
#: (fold_batchnorm, optimize_for_inference bfloat16); None: no goal, measured only.
INFERENCE_GOALS = {"resnet50": (FOLD_GOAL, BF16_GOAL), "mobilenet_v2": (1.2, None)}


def builder(library, name):
    """The builder function of `name` in `library`, or None when it does not have it."""
    ours, theirs, _, _ = SHARED[name]
    if library == "cnnblocks":
        return getattr(cnnblocks, ours, None)
    return getattr(keras.applications, theirs)


def input_size(name, requested):
    default, smallest = SHARED[name][2:]
    return default if requested is None else max(requested, smallest)


def build(library, name, size):
    return builder(library, name)(weights=None, input_shape=(size, size, 3))


def forward(model):
    """The model's inference call as this backend runs it fastest without changing it:
    TensorFlow, a `tf.function` (a graph, no XLA); JAX, `jax.jit` of `model.stateless_call`
    with the variables as arguments (an XLA program); PyTorch, the eager call under
    `torch.no_grad()`."""
    if BACKEND == "tensorflow":
        return tf.function(lambda x: model(x, training=False), jit_compile=False)
    if BACKEND == "jax":
        import jax
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        call = jax.jit(lambda t, n, x: model.stateless_call(t, n, x, training=False)[0])
        return lambda x: call(trainable, non_trainable, x)
    if BACKEND == "torch":
        import torch

        def call(x):
            with torch.no_grad():
                return model(x, training=False)
        return call
    raise SystemExit(f"the benchmark knows the tensorflow, jax and torch backends; "
                     f"KERAS_BACKEND is {BACKEND!r}")


def to_numpy(out):
    return keras.ops.convert_to_numpy(out)


def batch_of(n, size, seed=0):
    return keras.ops.convert_to_tensor(
        np.random.RandomState(seed).standard_normal((n, size, size, 3)).astype("float32"))


def seconds_per_call(fn, x, calls):
    start = time.perf_counter()
    for _ in range(calls):
        out = fn(x)
        keras.tree.map_structure(to_numpy, out)  # wait for the result
    return (time.perf_counter() - start) / calls


def alternating(keys, turn):
    """`keys` in order on even turns and reversed on odd ones (A B, B A, A B, ...), so that
    going first or last (warm caches, a neighbour's burst) favours no contender."""
    keys = list(keys)
    return keys if turn % 2 == 0 else keys[::-1]


def interleaved_throughput(fns, x, *, repeats, warmup, target_seconds):
    """`{key: [images/s samples]}` of each function in `fns` (a dict), timed A B C, C B A, ..."""
    batch = int(x.shape[0])
    one_call = {}
    for key, fn in fns.items():
        for _ in range(warmup):
            seconds_per_call(fn, x, 1)
        one_call[key] = seconds_per_call(fn, x, 1)
    # The same number of calls for every contender, from the slowest one's time.
    calls = max(1, round(target_seconds / max(one_call.values())))
    samples = {key: [] for key in fns}
    for turn in range(repeats):
        for key in alternating(list(fns), turn):
            samples[key].append(batch / seconds_per_call(fns[key], x, calls))
    return samples


def interleaved_build(name, size, repeats):
    samples = {lib: [] for lib in LIBRARIES}
    for turn in range(repeats):
        for lib in alternating(LIBRARIES, turn):
            keras.backend.clear_session()
            start = time.perf_counter()
            build(lib, name, size)
            samples[lib].append(time.perf_counter() - start)
    keras.backend.clear_session()
    return samples


# ------------------------------------------------------------------------------ memory -------
def _vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")


def memory_child(library, name, size, batch):
    """In a fresh process: peak RSS growth (MiB) from after the imports to after build + run."""
    baseline = _vm_hwm_kib()
    model = build(library, name, size)
    fn = forward(model)
    x = batch_of(batch, size)
    for _ in range(2):
        to_numpy(fn(x))
    print(json.dumps({"mib": (_vm_hwm_kib() - baseline) / 1024}))


def peak_memory_mib(library, name, size, batch):
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--memory-child", library, name,
         str(size), str(batch)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["mib"]


def interleaved_memory(name, size, batch, repeats):
    samples = {lib: [] for lib in LIBRARIES}
    for turn in range(repeats):
        for lib in alternating(LIBRARIES, turn):
            samples[lib].append(peak_memory_mib(lib, name, size, batch))
    return samples


def median_ratio(numerator, denominator, *, resamples=2000, seed=0):
    """`(ratio, low, high)`: median(numerator) / median(denominator) of two interleaved sample
    lists, and a 95% bootstrap interval of it (resampling the A-B pairs, which keeps each pair's
    shared machine state together). With one sample the interval is the ratio itself."""
    ratio = statistics.median(numerator) / statistics.median(denominator)
    n = len(numerator)
    if n < 2:
        return ratio, ratio, ratio
    a, b = np.asarray(numerator, float), np.asarray(denominator, float)
    picks = np.random.RandomState(seed).randint(0, n, size=(resamples, n))
    boot = np.median(a[picks], axis=1) / np.median(b[picks], axis=1)
    low, high = np.percentile(boot, [2.5, 97.5])
    return ratio, float(low), float(high)


# ------------------------------------------------------------------------------ machine ------
def matmul_peak_gflops(n, repeats):
    """Best float32 GFLOP/s of an n x n by n x n matrix product (2 n^3 float operations) on
    this backend: `tf.matmul` in a `tf.function`, a jitted `jnp.matmul`, `torch.matmul`."""
    rng = np.random.RandomState(0)
    a, b = (keras.ops.convert_to_tensor(rng.standard_normal((n, n)).astype("float32"))
            for _ in range(2))
    if BACKEND == "tensorflow":
        fn = tf.function(lambda a, b: tf.matmul(a, b), jit_compile=False)
    elif BACKEND == "jax":
        import jax
        fn = jax.jit(lambda a, b: a @ b)
    else:
        fn = keras.ops.matmul
    to_numpy(fn(a, b))
    best = min(seconds_per_call(lambda _: fn(a, b), None, 1) for _ in range(repeats))
    return 2 * n ** 3 / best / 1e9


def onednn_state():
    """Whether TensorFlow runs its oneDNN CPU kernels in this process, in words."""
    if BACKEND != "tensorflow":
        return "not used (another backend)"
    try:  # TensorFlow's own answer (a private module: the benchmark is not the package).
        from tensorflow.python.util import _pywrap_util_port
        on = bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}"
    return (f"{'on' if on else 'off'} "
            f"(TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')})")


def native_bfloat16():
    """The CPU flags that give native bfloat16 arithmetic (Linux `/proc/cpuinfo`), or []."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return []
    return [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]


def backend_version():
    """`TensorFlow 2.21.0`, `JAX 0.10.2`, `PyTorch 2.13.0+cpu`."""
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[BACKEND]
    return f"{BACKEND_TITLES[BACKEND]} {__import__(module).__version__}"


def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    loads = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    load = " / ".join(f"{v:.1f}" for v in loads)
    return {"cpu": cpu, "cores": cores, "load": load, "busy": loads[0] > 0.5 * cores,
            "onednn": onednn_state(),
            "python": platform.python_version(),
            "backend": backend_version(), "keras": keras.__version__,
            "cnnblocks": cnnblocks.__version__}


# ------------------------------------------------------------------------------ tables -------
def verdict(ratio, low, high, goal, higher_is_better=True):
    """"met", or "missed" (the whole 95% interval on the wrong side of the goal) or "missed,
    within noise" (the median ratio misses but the interval reaches the goal)."""
    def meets(value):
        return value >= goal if higher_is_better else value <= goal
    if meets(ratio):
        return "met"
    return "missed, within noise" if meets(high if higher_is_better else low) else "**missed**"


def _ratio(figures, goal, higher_is_better):
    """The cell: cnnblocks / keras of the medians, its 95% interval and, with a goal, the
    verdict when the goal is not met."""
    ratio, low, high = median_ratio(figures["cnnblocks"], figures["keras"])
    cell = f"{ratio:.2f} [{low:.2f}, {high:.2f}]"
    if goal is not None:
        met = verdict(ratio, low, high, goal, higher_is_better)
        cell += "" if met == "met" else f" (goal {met})"
    return cell


def _fmt(value, digits=2):
    return f"{value:,.{digits}f}"


def compare(name, size, args, peak):
    """One row of the comparison table (a dict of figures)."""
    keras.backend.clear_session()
    row = {"model": name, "size": size}
    row["build"] = interleaved_build(name, size, args.repeats)  # {library: [samples]}
    models = {lib: build(lib, name, size) for lib in LIBRARIES}
    try:  # Same numbers, same work (and a check that the two compute the same function).
        models["cnnblocks"].set_weights(models["keras"].get_weights())
    except ValueError as err:
        print(f"warning: {name}: keras.applications' weights do not fit: {err}",
              file=sys.stderr)
    macs = cnnblocks.count_macs(models["cnnblocks"])
    row["gmacs"] = macs / 1e9
    fns = {lib: forward(m) for lib, m in models.items()}
    x1 = batch_of(1, size)
    row["same_output"] = bool(np.allclose(to_numpy(fns["cnnblocks"](x1)),
                                          to_numpy(fns["keras"](x1)), rtol=1e-4, atol=1e-6))
    for batch in BATCHES:
        row[f"b{batch}"] = interleaved_throughput(
            fns, batch_of(batch, size), repeats=args.repeats, warmup=args.warmup,
            target_seconds=args.target_seconds)
    row["gflops"] = {lib: 2 * macs * statistics.median(row["b16"][lib]) / 1e9
                     for lib in LIBRARIES}
    row["peak"] = peak
    del models, fns
    keras.backend.clear_session()
    if args.memory:
        row["memory"] = interleaved_memory(name, size, 16, args.memory_repeats)
    return row


def comparison_table(rows):
    head = ("| backend | model | input | GMACs | build s cnnblocks / keras | ratio [95%] | "
            "b1 img/s cnnblocks / keras | ratio [95%] | "
            "b16 img/s cnnblocks / keras | ratio [95%] | "
            "peak MiB cnnblocks / keras | ratio [95%] | "
            "GFLOP/s b16 cnnblocks / keras (% of peak) |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        def pair(fig, digits=2, goal=None, higher_is_better=True):
            c, k = (statistics.median(r[fig][lib]) for lib in LIBRARIES)
            return f"{_fmt(c, digits)} / {_fmt(k, digits)}", _ratio(r[fig], goal, higher_is_better)
        build, build_ratio = pair("build", goal=BUILD_GOAL, higher_is_better=False)
        b1, b1_ratio = pair("b1", goal=SPEED_GOAL)
        b16, b16_ratio = pair("b16", goal=SPEED_GOAL)
        if "memory" in r:
            mem, mem_ratio = pair("memory", 0)
        else:
            mem, mem_ratio = "not measured", ""
        gf = r["gflops"]
        share = [f"{100 * gf[lib] / r['peak']:.0f}%" for lib in LIBRARIES]
        gflops = f"{gf['cnnblocks']:.1f} / {gf['keras']:.1f} ({share[0]} / {share[1]})"
        lines.append(
            f"| {BACKEND_TITLES[BACKEND]} | {r['model']} | {r['size']} | {r['gmacs']:.2f} | "
            f"{build} | {build_ratio} | "
            f"{b1} | {b1_ratio} | {b16} | {b16_ratio} | {mem} | {mem_ratio} | {gflops} |")
    return "\n".join(lines)


def output_error(reference, candidate):
    """`(max |difference| / max |reference|, mean top-5 overlap)` on softmax outputs."""
    reference, candidate = np.asarray(reference, "float64"), np.asarray(candidate, "float64")
    rel = float(np.abs(candidate - reference).max() / np.abs(reference).max())
    top_ref = np.argsort(-reference, axis=-1)[:, :5]
    top_new = np.argsort(-candidate, axis=-1)[:, :5]
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top_ref, top_new)])
    return rel, float(overlap)


def inference_rows(name, size, args):
    """keras.applications' model, cnnblocks', folded, folded + bfloat16: throughput and error."""
    keras.backend.clear_session()
    title = SHARED[name][0]
    ours = build("cnnblocks", name, size)
    cnnblocks.testing.randomize_batchnorm(ours)
    variants = {
        f"keras.applications {title}": build("keras", name, size),
        f"cnnblocks {title}": ours,
        "fold_batchnorm": cnnblocks.fold_batchnorm(ours),
        "optimize_for_inference bfloat16": cnnblocks.optimize_for_inference(
            ours, dtype="bfloat16"),
    }
    fns = {key: forward(m) for key, m in variants.items()}
    x = batch_of(8, size, seed=1)
    reference = to_numpy(fns[f"cnnblocks {title}"](x))
    errors = {key: output_error(reference, to_numpy(fns[key](x)))
              for key in ("fold_batchnorm", "optimize_for_inference bfloat16")}
    speed = {batch: interleaved_throughput(fns, batch_of(batch, size),
                                           repeats=args.inference_repeats, warmup=args.warmup,
                                           target_seconds=args.target_seconds)
             for batch in BATCHES}
    fold_goal, bf16_goal = INFERENCE_GOALS[name]
    goals = {"fold_batchnorm": fold_goal, "optimize_for_inference bfloat16": bf16_goal}
    base = speed[16][f"keras.applications {title}"]
    head = (f"| {title} variant | b1 img/s | b16 img/s | b16 speed-up vs keras [95% interval] | "
            "goal | max rel. error | top-5 overlap |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    speedups = {}
    for key in variants:
        up, low, high = median_ratio(speed[16][key], base)
        speedups[key] = (up, low, high)
        goal = (f">= {goals[key]:.2f}x: {verdict(up, low, high, goals[key])}"
                if goals.get(key) is not None else "")
        rel, top5 = errors.get(key, (None, None))
        lines.append(f"| {key} | {statistics.median(speed[1][key]):.2f} | "
                     f"{statistics.median(speed[16][key]):.2f} | "
                     f"{up:.2f}x [{low:.2f}, {high:.2f}] | {goal} | "
                     f"{'' if rel is None else f'{rel:.1e}'} | "
                     f"{'' if top5 is None else f'{top5:.2f}'} |")
    keras.backend.clear_session()
    return "\n".join(lines), {"errors": errors, "speedups": speedups}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(SHARED),
                   help=f"comma-separated subset of {', '.join(SHARED)} (default: all)")
    p.add_argument("--repeats", type=int, default=9, help="samples per figure (default 9)")
    p.add_argument("--inference-repeats", type=int, default=15,
                   help="samples per figure of the inference table (default 15: its speed-ups "
                        "are compared with goals, so they get more samples)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls first (default 3)")
    p.add_argument("--target-seconds", type=float, default=1.0,
                   help="about how long one throughput sample runs (default 1.0)")
    p.add_argument("--memory-repeats", type=int, default=3,
                   help="fresh processes per library for peak memory (default 3; the peak "
                        "varies by ~20%% from run to run with TensorFlow's thread timing)")
    p.add_argument("--no-memory", dest="memory", action="store_false",
                   help="skip the peak-memory processes")
    p.add_argument("--no-inference", dest="inference", action="store_false",
                   help="skip the fold_batchnorm / bfloat16 tables (ResNet50, "
                        "MobileNetV2)")
    p.add_argument("--no-runtimes", dest="runtimes", action="store_false",
                   help="leave out the inference-runtimes table (runtimes.py: onnxruntime "
                   "float32 and int8, LiteRT, torchvision, keras on TensorFlow and JAX)")
    p.add_argument("--no-scaling", dest="scaling", action="store_false",
                   help="skip the ResNet depth-scaling table (benchmarks/scaling.py)")
    p.add_argument("--input-size", type=int, default=None,
                   help="square input size for every model (default: each model's ImageNet "
                        "size; raised to the model's minimum)")
    p.add_argument("--matmul-size", type=int, default=2048, help="n of the peak matmul")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 repeat, 1 warm-up call, 1 call per sample, small matmul")
    p.add_argument("--out", default=None, help="also write the markdown report to this file")
    p.add_argument("--append", action="store_true",
                   help="append the report to --out as a section (the page's other backends "
                        "stay) instead of writing the file anew")
    p.add_argument("--memory-child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup, args.target_seconds = 1, 1, 0.0
        args.inference_repeats = 1
        args.memory_repeats = 1
        args.matmul_size = min(args.matmul_size, 512)
    args.models = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in SHARED]
    if unknown:
        p.error(f"--models: unknown {', '.join(unknown)}; choose from {', '.join(SHARED)}")
    if min(args.repeats, args.memory_repeats, args.inference_repeats) < 1 or args.warmup < 0:
        p.error("--repeats, --memory-repeats and --inference-repeats must be >= 1, "
                "--warmup >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_child:
        library, name, size, batch = args.memory_child
        memory_child(library, name, int(size), int(batch))
        return 0
    machine = machine_description()
    peak = matmul_peak_gflops(args.matmul_size, 3 if args.quick else 10)
    command = " ".join(["benchmarks/bench_vs_keras.py"] + (argv or sys.argv[1:]))
    title = BACKEND_TITLES[BACKEND]
    call = {"tensorflow": "a `tf.function` (no XLA)",
            "jax": "`jax.jit(model.stateless_call)` (XLA)",
            "torch": "the eager call under `torch.no_grad()`"}[BACKEND]
    kernels = (f"; TensorFlow's oneDNN CPU kernels {machine['onednn']}"
               if BACKEND == "tensorflow" else "")
    report = [] if args.append else ["# Benchmarks: cnnblocks vs keras.applications", ""]
    report += [
        f"## On the {title} backend",
        "",
        f"Written by `{command}` (`./dev.sh bench` runs it on every shared architecture on "
        "TensorFlow, then on ResNet50 on JAX and PyTorch); "
        "its docstring says exactly what each figure is. In short: median of interleaved "
        "samples (A B, B A, A B, ...) with random weights; build = seconds to call the builder; "
        f"img/s = images per second through {call} at batch 1 and 16; "
        "peak MiB = growth of a fresh process's peak RSS (VmHWM) over building the model and "
        "two batch-16 forwards; GFLOP/s = 2 x multiply-adds (`cnnblocks.count_macs`) x "
        "images/s at batch 16, against the float32 matmul peak below.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores usable; load average at start "
        f"{machine['load']}; Python {machine['python']}, Keras backend {machine['backend']}, "
        f"Keras {machine['keras']}, cnnblocks {machine['cnnblocks']}{kernels}. float32 matmul "
        f"peak on {title} ({args.matmul_size}x{args.matmul_size}): {peak:.1f} GFLOP/s.",
        f"Settings: repeats {args.repeats} ({args.inference_repeats} for the inference "
        f"table), warm-up {args.warmup}, ~{args.target_seconds:g} s "
        f"per throughput sample{', quick smoke run' if args.quick else ''}; "
        "ratio = cnnblocks / keras.applications of the medians, with a 95% bootstrap interval "
        "over the interleaved pairs in brackets "
        f"(goals: build <= {BUILD_GOAL:.2f}, throughput >= {SPEED_GOAL:.2f}).",
        "",
    ]
    if machine["busy"]:
        report[-1:-1] = ["", f"**Taken under load** (load average {machine['load']} on "
                         f"{machine['cores']} cores): other processes shared the cores, so "
                         "these timings are noisy. Re-run on a quiet machine."]
    print("\n".join(report), flush=True)
    rows = []
    for name in args.models:
        if builder("cnnblocks", name) is None:
            print(f"skipping {name}: cnnblocks has no {SHARED[name][0]} yet", flush=True)
            continue
        size = input_size(name, args.input_size)
        print(f"measuring {name} at {size}x{size} ...", file=sys.stderr, flush=True)
        rows.append(compare(name, size, args, peak))
        if not rows[-1]["same_output"]:
            print(f"warning: {name}: outputs differ with keras.applications' weights",
                  file=sys.stderr)
    if rows:
        table = comparison_table(rows)
        print(table, flush=True)
        report += [table, ""]
    bf16 = native_bfloat16()
    if args.inference and BACKEND != "tensorflow":
        note = (f"Inference rewrites: not measured on {title}: that table is TensorFlow-only "
                "(its goals are set for TensorFlow's oneDNN kernels); run it with "
                "KERAS_BACKEND=tensorflow. (`--no-inference` skips it without this note.)")
        print(f"skipping: {note}", file=sys.stderr, flush=True)
        report += [note, ""]
    for name in INFERENCE_GOALS:
        if not (args.inference and BACKEND == "tensorflow" and name in args.models
                and builder("cnnblocks", name)):
            continue
        model_title = SHARED[name][0]
        size = input_size(name, args.input_size)
        print(f"measuring the {model_title} inference rewrites at {size}x{size} ...",
              file=sys.stderr, flush=True)
        table, _ = inference_rows(name, size, args)
        section = [
            f"### Inference rewrites ({model_title}, {size}x{size}, {title} backend)", "",
            f"keras.applications {model_title} (the baseline), cnnblocks {model_title}, "
            "`cnnblocks.fold_batchnorm` of it and `cnnblocks.optimize_for_inference(dtype="
            "\"bfloat16\")` of it, the four interleaved; speed-up = median batch-16 images/s "
            "over keras', with its 95% bootstrap interval. The error columns compare with the "
            f"float32 cnnblocks model (BN statistics randomized first, so that folding changes "
            "every weight) on a fixed batch of 8 random images: max |difference| / max "
            "|reference| of the softmax outputs, and the mean overlap of the top-5 classes. "
            f"The folded model has no BatchNormalization left: it runs the convolutions (with "
            f"bias) of {model_title} without BN, so its speed-up is what removing BN is worth on "
            "this machine.", "",
            "Native bfloat16 arithmetic on this CPU: " + (
                f"yes ({', '.join(bf16)})." if bf16 else
                "no (neither `avx512_bf16` nor `amx_bf16` among the CPU flags), so TensorFlow "
                "emulates bfloat16 and the bfloat16 copy cannot be expected to be faster."),
            "", table, ""]
        print("\n" + "\n".join(section), flush=True)
        report += section
    runtime_models = [m for m in args.models if m in ("resnet50", "mobilenet_v2")]
    if args.runtimes and BACKEND == "tensorflow" and runtime_models:
        sys.path.insert(0, HERE)
        import runtimes
        print("measuring the inference runtimes ...", file=sys.stderr, flush=True)
        section = runtimes.report(runtime_models, size=args.input_size or 224,
                                  repeats=3 if args.quick else args.repeats,
                                  target_seconds=args.target_seconds,
                                  progress=lambda m: print(m, file=sys.stderr, flush=True))
        section = section.replace("## Inference runtimes", "### Inference runtimes", 1)
        print("\n" + section, flush=True)
        report += [section, ""]
    if args.scaling:
        sys.path.insert(0, HERE)
        import scaling
        print("measuring the ResNet depth scaling ...", file=sys.stderr, flush=True)
        section = scaling.report(repeats=args.repeats, quick=args.quick).replace(
            "## ResNet depth scaling (", f"### ResNet depth scaling ({title} backend, ", 1)
        print("\n" + section, flush=True)
        report += [section, ""]
    report += [f"Load average at the end: {machine_description()['load']}.", ""]
    print(report[-2])
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "a" if args.append else "w") as f:
            f.write(("\n" if args.append else "") + "\n".join(report).rstrip() + "\n")
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
