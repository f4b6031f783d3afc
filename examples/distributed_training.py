"""Multi-device training of a cnnblocks model on the route of the Keras backend in use:
`tf.distribute.MirroredStrategy` on TensorFlow, `keras.distribution`'s DataParallel or
ModelParallel on JAX.

    python examples/distributed_training.py --strategy mirrored --cpu-replicas 2 --steps 2
    python examples/distributed_training.py --strategy data-parallel --cpu-replicas 2 --steps 2
    python examples/distributed_training.py --strategy model-parallel --cpu-replicas 2 --steps 2

(the first with `KERAS_BACKEND=tensorflow`, the other two with `KERAS_BACKEND=jax`).

Strategies:
  * `mirrored` (TensorFlow backend): `tf.distribute.MirroredStrategy`, one replica of the
    model per device, gradients all-reduced every step. Build and compile the model inside
    `strategy.scope()`; `model.fit` then splits each global batch across the replicas.
  * `data-parallel` (JAX backend): `keras.distribution.DataParallel`; variables replicated
    on every device, each batch split across them.
  * `model-parallel` (JAX backend): `keras.distribution.ModelParallel` on a (batch 1, model N)
    mesh, with the layout `cnnblocks.distribution.layout_map` writes from the model's real
    variable paths: every convolution, batch norm and dense layer split on its output channels.
  * `default`: one device, any backend.
A strategy is refused, with the reason, on a backend it does not apply to: a `tf.distribute`
strategy does nothing on JAX or PyTorch (the model would train on one device), and Keras 3.15
implements `keras.distribution` for JAX only.

Other options: `--model resnet18` (any registered model), `--epochs 1`, `--batch-size 32`
(global), `--size 32`, `--steps 0` (steps per epoch; 0: the whole training set). On a machine
without accelerators, `--cpu-replicas N` splits the CPU into N devices (TensorFlow: logical
CPUs; JAX: `XLA_FLAGS=--xla_force_host_platform_device_count=N`), so every route can be
exercised anywhere; on a multi-GPU machine leave it at 0 and every visible GPU is used.

Data: scikit-learn's digits, upsampled to `--size` (32) and repeated to 3 channels.

What is known to work, and not (Keras 3.15; see docs/backends.md):
  * works, tested: `mirrored` on TensorFlow 2.21; `data-parallel` and `model-parallel` on JAX
    (losses equal to one device's, tests/test_distribution.py), also across processes with
    `keras.distribution.initialize` (tested with 2 processes on 127.0.0.1).
  * does not work: `tf.distribute.MultiWorkerMirroredStrategy` (several hosts): Keras 3's
    `model.fit` fails under it (https://github.com/keras-team/keras/issues/20585). Multi-host
    training goes through `keras.distribution` on JAX: `keras.distribution.initialize(...)` on
    every host before anything else, then the same `data-parallel` / `model-parallel` code.
See docs/backends.md and docs/workflows.md.
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: strategy -> the backends it works on.
STRATEGIES = {
    "default": ("tensorflow", "jax", "torch"),
    "mirrored": ("tensorflow",),
    "data-parallel": ("jax",),
    "model-parallel": ("jax",),
}
WHY_NOT = {
    "mirrored": "tf.distribute.MirroredStrategy is a TensorFlow strategy: on the {backend} "
                "backend it does nothing and the model would train on one device",
    "data-parallel": "it uses keras.distribution, which Keras 3.15 implements for the JAX "
                     "backend only",
    "model-parallel": "it uses keras.distribution, which Keras 3.15 implements for the JAX "
                      "backend only",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", choices=tuple(STRATEGIES), default=None,
                        help="default: mirrored on TensorFlow, data-parallel on JAX, "
                             "default elsewhere")
    parser.add_argument("--model", default="resnet18", help="a registered model (resnet18)")
    parser.add_argument("--cpu-replicas", type=int, default=0, metavar="N",
                        help="split the CPU into N devices first (0: leave as is)")
    parser.add_argument("--size", type=int, default=32, help="image size (32)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=0,
                        help="steps per epoch (0: the whole training set)")
    parser.add_argument("--batch-size", type=int, default=32, help="global batch (32)")
    args = parser.parse_args(argv)
    if args.cpu_replicas < 0:
        parser.error(f"--cpu-replicas must be >= 0, received {args.cpu_replicas}")
    return args


def check_strategy(strategy, backend):
    """Raises SystemExit (exit status 2) with the reason when `strategy` does not apply to
    `backend`; returns the strategy to use (`None` picks the backend's own)."""
    if strategy is None:
        return {"tensorflow": "mirrored", "jax": "data-parallel"}.get(backend, "default")
    if backend not in STRATEGIES[strategy]:
        fits = [s for s, backends in STRATEGIES.items() if backend in backends]
        print(f"error: --strategy {strategy} does not apply to the {backend} backend: "
              f"{WHY_NOT[strategy].format(backend=backend)}. Use --strategy "
              f"{' or '.join(fits)} here, or set KERAS_BACKEND="
              f"{' / '.join(STRATEGIES[strategy])}.", file=sys.stderr)
        raise SystemExit(2)
    return strategy


def split_cpu(backend, replicas):
    """Splits the CPU into `replicas` devices; must run before the backend starts its devices.
    Returns the device names."""
    if backend == "tensorflow":
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])
        return [d.name for d in tf.config.list_logical_devices("CPU")]
    if backend == "jax":
        flag = f"--xla_force_host_platform_device_count={replicas}"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
        import keras
        return keras.distribution.list_devices("cpu")
    raise SystemExit(f"error: --cpu-replicas is for TensorFlow and JAX; the {backend} backend "
                     "has no multi-device route here.")


class Route:
    """How one strategy builds the model and what it reports: `scope()` to build in,
    `replicas`, and `describe(model)` (where the variables and batches live)."""

    def __init__(self, strategy, build_template):
        import contextlib
        import keras
        self.name, self.replicas = strategy, 1
        self.scope = contextlib.nullcontext
        if strategy == "mirrored":
            import tensorflow as tf
            devices = [d.name for d in tf.config.list_logical_devices("GPU")]
            devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
            self.strategy = tf.distribute.MirroredStrategy(devices=devices)
            self.replicas = self.strategy.num_replicas_in_sync
            self.scope = self.strategy.scope
            self.title = f"MirroredStrategy, {self.replicas} replica(s)"
        elif strategy in ("data-parallel", "model-parallel"):
            from cnnblocks import distribution
            devices = keras.distribution.list_devices()
            if strategy == "data-parallel":
                self.strategy = keras.distribution.DataParallel(devices=devices)
                self.replicas = len(devices)
                self.title = f"DataParallel, {len(devices)} device(s), batch split"
            else:
                mesh = keras.distribution.DeviceMesh((1, len(devices)), ("batch", "model"),
                                                     devices=devices)
                layouts = distribution.layout_map(build_template(), mesh)
                self.strategy = keras.distribution.ModelParallel(layout_map=layouts,
                                                                 batch_dim_name="batch")
                self.title = (f"ModelParallel, {len(devices)} device(s), variables split on "
                              "the 'model' axis")
            self.scope = self.strategy.scope
        else:
            self.title = "default, one device"

    def describe(self, model):
        """One line: how the model's variables are placed."""
        first = model.weights[0]
        if self.name == "mirrored":
            parts = getattr(first.value, "values", ())
            return (f"variables: {type(first.value).__name__} ({first.path} on "
                    f"{len(parts)} devices)")
        if self.name in ("data-parallel", "model-parallel"):
            shardings = [v.value.sharding for v in model.weights]
            split = sum(not s.is_fully_replicated for s in shardings)
            devices = max(len(s.device_set) for s in shardings)
            return (f"variables: {split} of {len(shardings)} split, "
                    f"{len(shardings) - split} replicated, over {devices} device(s)")
        return "variables: on one device"


def main(argv=None):
    args = parse_args(argv)
    import keras
    backend = keras.backend.backend()
    strategy = check_strategy(args.strategy, backend)
    if args.cpu_replicas:
        print(f"{backend} CPU devices: {', '.join(split_cpu(backend, args.cpu_replicas))}")

    import cnnblocks
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _digits import load_digits

    def build():
        return cnnblocks.create_model(args.model, input_shape=(args.size, args.size, 3),
                                      classes=10)

    keras.utils.set_random_seed(0)
    route = Route(strategy, build)
    print(f"backend: {backend}; strategy: {route.title}")
    x_train, x_test, y_train, y_test = load_digits(size=args.size, channels=3)
    if args.batch_size % route.replicas:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the "
                         f"{route.replicas} replicas")
    with route.scope():  # variables (model and optimizer) are created where they belong
        model = build()
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    print(f"model: {model.name}, {model.count_params():,} parameters, built in the scope; "
          f"global batch {args.batch_size} = {args.batch_size // route.replicas} per replica")
    print(route.describe(model))
    steps = args.steps or math.ceil(len(x_train) / args.batch_size)
    start = time.perf_counter()
    with route.scope():
        history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                            steps_per_epoch=steps if args.steps else None, verbose=0)
    for epoch, (loss, accuracy) in enumerate(zip(history.history["loss"],
                                                 history.history["accuracy"]), 1):
        print(f"epoch {epoch}: loss {loss:.4f}, accuracy {accuracy:.2%} ({steps} steps)")
    print(f"trained in {time.perf_counter() - start:.1f} s on {route.replicas} replica(s)")
    return history.history["loss"][-1], route.replicas


if __name__ == "__main__":
    main()
