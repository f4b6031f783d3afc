"""Runs `keras.distribution` training for `tests/test_distribution.py`, in a fresh process on
the JAX backend (the test starts it with `KERAS_BACKEND=jax` and
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, whatever backend pytest runs on).

    python tests/distribution_worker.py compare OUT.json
        one process, 2 virtual CPU devices: a cnnblocks ResNet18 trained on one device, under
        DataParallel and under ModelParallel (`cnnblocks.distribution.layout_map`), from the
        same weights on the same batches; writes per-step losses, final weights' differences
        and the shardings seen to OUT.json.
    python tests/distribution_worker.py process PORT ID OUT.npz
        one of 2 processes (1 CPU device each) joined by `keras.distribution.initialize` on
        127.0.0.1:PORT; DataParallel over both; each process feeds its own half of every
        global batch; writes the final weights and losses to OUT.npz.

Not a test module (pytest collects `test_*.py` only).
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np  # noqa: E402

# float64: rounding differences between one device and two stay ~1e-8 instead of being
# amplified to ~1e-2 in three float32 steps (training on random labels amplifies rounding:
# measured, a 1e-7 relative perturbation of the float32 start weights moved weights by 1e-2).
FLOATX = "float64"
os.environ["JAX_ENABLE_X64"] = "1"
SIZE, CLASSES, BATCH, STEPS = 32, 10, 8, 3


def data(seed=0, steps=None, batch=None):
    steps, batch = steps or STEPS, batch or BATCH
    rng = np.random.RandomState(seed)
    # Values a float32 holds exactly. With Keras 3.15.1 / JAX 0.10.2 the distributed runs'
    # first loss differed from one device's by 4e-7 relative with float64 inputs (float32
    # rounding of the batch on the way to the devices), which three steps on random labels
    # amplify to 4e-3; with float32-exact inputs both agree within the bounds below.
    x = rng.uniform(-1, 1, (steps, batch, SIZE, SIZE, 3)).astype("float32").astype(FLOATX)
    y = rng.randint(0, CLASSES, (steps, batch)).astype("int32")
    return x, y


_PROBE = []


def probe_class():
    """A pass-through layer that records, from inside the compiled train step, how its input
    batch is laid out on the devices (`jax.debug.inspect_array_sharding`). One class per
    process (its list `seen` is shared)."""
    if _PROBE:
        return _PROBE[0]
    import jax
    import keras

    class Probe(keras.layers.Layer):
        seen = []

        def call(self, x):
            def record(sharding):
                Probe.seen.append({"shard_shape": list(sharding.shard_shape(x.shape)),
                                   "devices": len(sharding.device_set),
                                   "replicated": bool(sharding.is_fully_replicated)})
            jax.debug.inspect_array_sharding(x, callback=record)
            return x
    _PROBE.append(Probe)
    return Probe


def build(init=None):
    """ResNet18 (32x32, 10 classes) behind the probe; `init`: weights to start from."""
    import keras
    import cnnblocks
    keras.config.set_floatx(FLOATX)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3), name="images")
    resnet = cnnblocks.ResNet18(weights=None, input_shape=(SIZE, SIZE, 3), classes=CLASSES)
    model = keras.Model(inputs, resnet(probe_class()(name="probe")(inputs)), name="probed")
    if init is not None:
        model.set_weights(init)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    return model


def train(model, x, y):
    return [float(model.train_on_batch(xb, yb)) for xb, yb in zip(x, y)]


def sharding_of(variable):
    sharding = variable.value.sharding
    spec = getattr(sharding, "spec", None)
    return {"spec": None if spec is None else [None if a is None else str(a) for a in spec],
            "devices": len(sharding.device_set),
            "replicated": bool(sharding.is_fully_replicated),
            "shard_shape": list(sharding.shard_shape(tuple(variable.shape)))}


def compare(out):
    import keras
    from keras import distribution as kd
    from cnnblocks import distribution as cd

    devices = kd.list_devices("cpu")
    x, y = data()
    report = {"devices": devices}
    reference = build()
    init = reference.get_weights()
    probe = probe_class()
    report["single"] = {"losses": train(reference, x, y)}
    want = reference.get_weights()
    report["single"]["batch"] = probe.seen[-1]
    # For scale: the first batch's loss with batch-norm statistics per half-batch (what
    # per-device statistics would give on 2 devices) instead of over the whole batch.
    halves = build(init)
    loss = keras.losses.SparseCategoricalCrossentropy()
    report["per_device_bn_loss"] = float(np.mean([
        keras.ops.convert_to_numpy(loss(y[0][part], halves(x[0][part], training=True)))
        for part in (slice(0, BATCH // 2), slice(BATCH // 2, None))]))

    data_parallel = kd.DataParallel(devices=devices)
    mesh = kd.DeviceMesh((1, len(devices)), ("batch", "model"), devices=devices)
    template = reference.get_layer("resnet18")
    layouts = cd.layout_map(template, mesh)
    model_parallel = kd.ModelParallel(layout_map=layouts, batch_dim_name="batch")
    report["layout_keys"] = len(list(layouts))
    for name, dist in (("data_parallel", data_parallel), ("model_parallel", model_parallel)):
        keras.backend.clear_session()
        probe.seen.clear()
        with dist.scope():
            model = build(init)
            losses = train(model, x, y)
        got = model.get_weights()
        resnet = model.get_layer("resnet18")
        report[name] = {
            "losses": losses,
            "batch": probe.seen[-1],
            "max_weight_difference": max(float(np.abs(a - b).max()) for a, b in zip(got, want)),
            "variables": {path: sharding_of(_variable(resnet, path))
                for path in ("conv1_conv/kernel", "conv1_bn/moving_mean",
                             "conv5_block2_2_conv/kernel", "predictions/kernel",
                             "predictions/bias")},
            "optimizer": {path: sharding_of(v) for v in model.optimizer.variables
                          for path in [v.path] if "conv1_conv_kernel" in path},
            "all_sharded": sum(not sharding_of(v)["replicated"] for v in model.weights),
            "all": len(model.weights),
        }
    with open(out, "w") as f:
        json.dump(report, f, indent=1)


def _variable(model, path):
    layer, name = path.split("/")
    return next(v for v in model.get_layer(layer).weights if v.path.endswith("/" + name))


def process(port, process_id, out):
    import keras  # noqa: F401 - first: Keras picks the JAX backend before jax is used
    from keras import distribution as kd

    kd.initialize(job_addresses=f"127.0.0.1:{port}", num_processes=2,
                  process_id=process_id)
    devices = kd.list_devices("cpu")
    import jax
    kd.set_distribution(kd.DataParallel(devices=devices))
    model = build()
    x, y = data(seed=0, batch=2 * BATCH)
    half = slice(process_id * BATCH, (process_id + 1) * BATCH)  # this process's half
    losses = train(model, x[:, half], y[:, half])
    print(f"process {jax.process_index()} of {jax.process_count()}: {len(devices)} devices "
          f"({jax.local_device_count()} local), losses {losses}", flush=True)
    np.savez(out, losses=np.array(losses),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "compare":
        compare(sys.argv[2])
    elif mode == "process":
        process(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
