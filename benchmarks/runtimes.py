#!/usr/bin/env python
"""Inference runtimes on this CPU: keras.applications on TensorFlow and JAX, cnnblocks'
float32 paths (`optimize_for_inference` on TensorFlow; its `cnnblocks.export` files in
onnxruntime and LiteRT), its int8 file in onnxruntime, and torchvision on PyTorch, for ResNet50
and MobileNetV2, interleaved in one run.

    python benchmarks/runtimes.py                          # ResNet50 and MobileNetV2, batch 16
    python benchmarks/runtimes.py --models mobilenet_v2 --repeats 5 --size 160
    python benchmarks/bench_vs_keras.py ...                # adds this table (unless --no-runtimes)

How. Each contender lives in its own Python process (a *worker*: one backend per process is
how Keras works, and JAX and TensorFlow then do not share a thread pool). A worker builds its
model with random weights (the cnnblocks files are written by `cnnblocks.export`, verified
against Keras on their logits, `classifier_activation=None`, since a softmax of random weights
saturates and hides differences; int8 calibrated on 32 random images), warms up, then waits.
The parent asks the workers in turn to time `calls` forwards of one fixed batch (the same
number for every contender, about `--target-seconds` for the slowest), A B C ..., then
... C B A, so that no contender always goes first; only one worker runs at a time and each uses every core. A
figure is the median images/s over `--repeats` turns; a ratio is against onnxruntime float32
of the medians, with a 95% bootstrap interval over the turns (`bench_vs_keras.median_ratio`).

Goals (the deploy issue): cnnblocks' best float32 path >= 1.0x onnxruntime float32, and its
reduced-precision path (int8 here; bfloat16 only where the CPU has it natively) >= 2x. The
table says which CPU flags were present: onnxruntime's int8 convolutions use AVX512-VNNI
(`avx512_vnni`) or AVX-VNNI where the CPU has them.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

#: contender -> (what the table calls it, Keras backend of its worker).
CONTENDERS = {
    "keras_tf": ("keras.applications, TensorFlow (tf.function)", "tensorflow"),
    "keras_jax": ("keras.applications, JAX (jax.jit)", "jax"),
    "cnnblocks_tf": ("cnnblocks optimize_for_inference, TensorFlow", "tensorflow"),
    "ort_fp32": ("cnnblocks.export ONNX, onnxruntime float32", "tensorflow"),
    "litert_fp32": ("cnnblocks.export LiteRT, float32", "tensorflow"),
    "ort_int8": ("cnnblocks.export ONNX int8, onnxruntime", "tensorflow"),
    "torchvision": ("torchvision, PyTorch (eager, inference_mode)", "torch"),
}
BASELINE = "ort_fp32"
#: cnnblocks' float32 paths and reduced-precision paths, for the goals.
FLOAT32_PATHS = ("cnnblocks_tf", "ort_fp32", "litert_fp32")
REDUCED_PATHS = ("ort_int8",)
FLOAT32_GOAL, REDUCED_GOAL = 1.0, 2.0
MODELS = {"resnet50": ("ResNet50", "ResNet50", "resnet50"),
          "mobilenet_v2": ("MobileNetV2", "MobileNetV2", "mobilenet_v2")}


# ------------------------------------------------------------------------------ worker -------
def _worker(contender, name, size, batch):
    """Builds the contender, reports `{"ready": ..., "info": ...}`, then times `calls` forwards
    for every line `calls` it reads, until the input ends."""
    import numpy as np
    cores = len(os.sched_getaffinity(0))
    x = np.random.RandomState(0).standard_normal((batch, size, size, 3)).astype("float32")
    info = {}
    if contender == "torchvision":
        import torch
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from torch_oracle import import_torchvision
        torch.set_num_threads(cores)
        model = getattr(import_torchvision().models, MODELS[name][2])().eval()
        tensor = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())

        def call():
            with torch.inference_mode():
                return model(tensor).numpy()
    else:
        sys.path.insert(0, HERE)
        import keras
        import bench_vs_keras as bench
        tensor = keras.ops.convert_to_tensor(x) if contender in (
            "keras_tf", "keras_jax", "cnnblocks_tf") else x
        if contender in ("keras_tf", "keras_jax"):
            model = getattr(keras.applications, MODELS[name][1])(
                weights=None, input_shape=(size, size, 3))
            fn = bench.forward(model)
        elif contender == "cnnblocks_tf":
            import cnnblocks
            model = getattr(cnnblocks, MODELS[name][0])(weights=None,
                                                        input_shape=(size, size, 3),
                                                        classifier_activation=None)
            fn = bench.forward(cnnblocks.optimize_for_inference(model))
        else:
            path = os.environ["CNNBLOCKS_BENCH_FILE"]          # written by `prepare`
            if contender == "litert_fp32":
                from ai_edge_litert.interpreter import Interpreter
                interpreter = Interpreter(model_path=path, num_threads=cores)
                runner = interpreter.get_signature_runner()
                key = list(interpreter.get_signature_list().values())[0]["inputs"][0]
                fn = lambda t: runner(**{key: t})          # noqa: E731
            else:
                import onnxruntime
                session = onnxruntime.InferenceSession(path,
                                                       providers=["CPUExecutionProvider"])
                key = session.get_inputs()[0].name
                fn = lambda t: session.run(None, {key: t})  # noqa: E731

        def call():
            return keras.tree.map_structure(keras.ops.convert_to_numpy, fn(tensor))
    for _ in range(3):
        call()
    start = time.perf_counter()
    call()
    print(json.dumps({"ready": True, "one_call": time.perf_counter() - start, "info": info}),
          flush=True)
    for line in sys.stdin:
        calls = int(line)
        start = time.perf_counter()
        for _ in range(calls):
            call()
        print(json.dumps({"seconds": (time.perf_counter() - start) / calls}), flush=True)


EXPORTED = ("ort_fp32", "ort_int8", "litert_fp32")


def prepare(contender, name, size, folder):
    """Writes an export contender's file in a process of its own, which ends before any worker
    starts (converting and calibrating ResNet50 peak at about 15 GB); returns its figures and
    path."""
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--prepare", contender,
                           name, str(size), folder], check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
                          env=dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=ROOT,
                                   TF_CPP_MIN_LOG_LEVEL="3"))
    return json.loads(done.stdout.strip().splitlines()[-1])


def _prepare(contender, name, size, folder):
    """Writes the contender's file with `cnnblocks.export`; prints its path and figures."""
    import cnnblocks
    model = getattr(cnnblocks, MODELS[name][0])(weights=None, input_shape=(size, size, 3),
                                                classifier_activation=None)
    suffix = ".tflite" if contender == "litert_fp32" else ".onnx"
    options = dict(quantize="int8", calibration="random") if contender == "ort_int8" else {}
    result = cnnblocks.export(model, os.path.join(folder, f"{name}_{contender}{suffix}"),
                              "litert" if contender == "litert_fp32" else "onnx", **options)
    info = {"path": result.path, "error": result.max_relative_error, "runtime": result.runtime}
    if result.report is not None:
        info.update(top1=result.report.top1, top5=result.report.top5)
    print(json.dumps(info), flush=True)


class Worker:
    """A contender's process: `time(calls)` -> seconds per call."""

    def __init__(self, contender, name, size, batch, prepared=None):
        env = dict(os.environ, KERAS_BACKEND=CONTENDERS[contender][1],
                   TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
        self.prepared = dict(prepared or {})
        if prepared:
            env["CNNBLOCKS_BENCH_FILE"] = self.prepared.pop("path")
        self.contender = contender
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", contender, name, str(size),
             str(batch)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=ROOT, stderr=subprocess.DEVNULL)
        self.ready = self._read()
        self.ready["info"].update(self.prepared)

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"the {self.contender} worker ended before answering (rc "
                           f"{self.process.wait()}); run it alone to see why: python "
                           f"benchmarks/runtimes.py --worker {self.contender} ...")

    def time(self, calls):
        self.process.stdin.write(f"{calls}\n")
        self.process.stdin.flush()
        return self._read()["seconds"]

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


# ------------------------------------------------------------------------------ parent -------
def measure(name, size, batch, contenders, *, repeats, target_seconds, progress=print):
    """`{contender: {"samples": [images/s], "info": {...}}}`, interleaved."""
    workers, prepared = {}, {}
    folder = tempfile.mkdtemp(prefix="cnnblocks-bench-")
    for contender in contenders:
        if contender in EXPORTED:
            progress(f"  writing the {contender} file ({name} {size}x{size}) ...")
            prepared[contender] = prepare(contender, name, size, folder)
    try:
        for contender in contenders:
            progress(f"  starting {contender} ({name} {size}x{size}, batch {batch}) ...")
            workers[contender] = Worker(contender, name, size, batch, prepared.get(contender))
        slowest = max(w.ready["one_call"] for w in workers.values())
        calls = max(1, round(target_seconds / slowest))
        samples = {c: [] for c in workers}
        for turn in range(repeats):
            order = list(workers) if turn % 2 == 0 else list(workers)[::-1]
            for contender in order:
                samples[contender].append(batch / workers[contender].time(calls))
        return {c: {"samples": samples[c], "info": workers[c].ready["info"]} for c in workers}
    finally:
        for worker in workers.values():
            worker.close()
        shutil.rmtree(folder, ignore_errors=True)


def cpu_flags():
    """The CPU flags that matter for reduced precision, present on this machine."""
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f
                      if line.startswith("flags")), [])
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16",
              "amx_int8")
    return [flag for flag in wanted if flag in flags]


def table(name, size, batch, results):
    sys.path.insert(0, HERE)
    from bench_vs_keras import median_ratio, verdict
    base = results[BASELINE]["samples"]
    lines = [f"| {MODELS[name][0]} {size}x{size}, batch {batch} | img/s | vs onnxruntime "
             "float32 [95% interval] | max rel. error vs Keras | top-1 / top-5 agreement |",
             "|---|---|---|---|---|"]
    ratios = {}
    for contender, result in results.items():
        ratio = median_ratio(result["samples"], base)
        ratios[contender] = ratio
        info = result["info"]
        error = f"{info['error']:.1e}" if "error" in info else ""
        agree = (f"{info['top1']:.0%} / {info['top5']:.0%}" if info.get("top1") is not None
                 else "")
        lines.append(f"| {CONTENDERS[contender][0]} | {statistics.median(result['samples']):.1f} "
                     f"| {ratio[0]:.2f}x [{ratio[1]:.2f}, {ratio[2]:.2f}] | {error} | {agree} |")
    goals = []
    for paths, goal, what in ((FLOAT32_PATHS, FLOAT32_GOAL, "best float32 path"),
                              (REDUCED_PATHS, REDUCED_GOAL, "reduced-precision path")):
        present = [p for p in paths if p in ratios]
        if present:
            best = max(present, key=lambda p: ratios[p][0])
            goals.append(f"cnnblocks' {what} ({CONTENDERS[best][0]}): {ratios[best][0]:.2f}x "
                         f"onnxruntime float32, goal >= {goal:.1f}x: "
                         f"{verdict(*ratios[best], goal)}.")
    own = ratios.get("cnnblocks_tf")
    if own is not None:
        goals.append(f"Without leaving Keras (optimize_for_inference on TensorFlow): "
                     f"{own[0]:.2f}x.")
    return "\n".join(lines), goals


def report(models=tuple(MODELS), *, size=224, batch=16, repeats=7, target_seconds=1.0,
           contenders=tuple(CONTENDERS), progress=print):
    """The markdown section: one table per model, the goals, the CPU flags."""
    flags = cpu_flags()
    out = [f"## Inference runtimes (batch {batch}, float32 unless named)", "",
           "Each contender in its own process, interleaved (see `benchmarks/runtimes.py`); "
           f"median of {repeats} turns; ratios against onnxruntime float32 running the file "
           "`cnnblocks.export` wrote, with 95% bootstrap intervals. Errors are the exports' "
           "own verification (float32: a batch of 2; int8: its 32 random calibration images). "
           f"CPU flags present: {', '.join(flags) or 'none of interest'}; native bfloat16: "
           f"{'yes' if {'avx512_bf16', 'amx_bf16'} & set(flags) else 'no, so no bfloat16 row'}.",
           ""]
    for name in models:
        results = measure(name, size, batch, contenders, repeats=repeats,
                          target_seconds=target_seconds, progress=progress)
        text, goals = table(name, size, batch, results)
        out += [text, ""] + [f"- {g}" for g in goals] + [""]
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--target-seconds", type=float, default=1.0)
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--out", default=None, help="also write the section to this file")
    p.add_argument("--worker", nargs=4, default=None, help=argparse.SUPPRESS)
    p.add_argument("--prepare", nargs=4, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        contender, name, size, batch = args.worker
        _worker(contender, name, int(size), int(batch))
        return 0
    if args.prepare:
        contender, name, size, folder = args.prepare
        _prepare(contender, name, int(size), folder)
        return 0
    models = [m for m in args.models.split(",") if m]
    contenders = [c for c in args.contenders.split(",") if c]
    unknown = sorted(set(models) - set(MODELS)) + sorted(set(contenders) - set(CONTENDERS))
    if unknown or BASELINE not in contenders:
        p.error(f"unknown models or contenders {unknown} (models: {', '.join(MODELS)}; "
                f"contenders: {', '.join(CONTENDERS)}, {BASELINE} among them)")
    section = report(models, size=args.size, batch=args.batch, repeats=args.repeats,
                     target_seconds=args.target_seconds, contenders=contenders,
                     progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(section)
    if args.out:
        with open(args.out, "w") as f:
            f.write(section + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
