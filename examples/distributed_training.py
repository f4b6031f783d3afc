"""Data-parallel training of a cnnblocks model with `tf.distribute.MirroredStrategy` (Keras 3,
TensorFlow backend): one replica of the model per device, gradients all-reduced every step.

    python examples/distributed_training.py --strategy mirrored [--cpu-replicas 2] [--steps 2]

Other options: `--model resnet18` (any registered model), `--epochs 1`, `--batch-size 32`
(global), `--size 32`.

The only rule: build and compile the model inside `strategy.scope()`; `model.fit` then splits
each global batch across the replicas. With `--strategy default` the same script trains on one
device. On a machine without GPUs, `--cpu-replicas N` splits the CPU into N logical devices (as
the project's test does) so the mirrored path can be exercised anywhere; on a multi-GPU machine
leave it at 0 and MirroredStrategy takes every visible GPU.

Data: scikit-learn's digits, upsampled to `--size` (32) and repeated to 3 channels.

What is known to work, and not (Keras 3.15 on TensorFlow 2.21):
  * works: `tf.distribute.MirroredStrategy` (one host, several GPUs or logical CPUs), tested;
    `tf.distribute.OneDeviceStrategy` and the default strategy.
  * does not work: `tf.distribute.MultiWorkerMirroredStrategy` (several hosts) - Keras 3's
    `model.fit` fails under it since TF 2.16 made Keras 3 the default; open upstream:
    https://github.com/keras-team/keras/issues/20585 (and tensorflow/tensorflow#72388).
    Parameter-server training (`tf.distribute.ParameterServerStrategy` with a
    `ClusterCoordinator`) was a tf.keras 2 `fit` feature; Keras 3's TensorFlow trainer
    (keras/src/backend/tensorflow/trainer.py) has no coordinator code, so it is not a route
    for `fit` either (read from the source, not tested).
  * the multi-host route for Keras 3: the Keras distribution API with the JAX backend,
    `keras.distribution.initialize(...)` on every host then
    `keras.distribution.set_distribution(keras.distribution.DataParallel())` before building
    the model (https://keras.io/guides/distribution/). Its TensorFlow implementation is a
    prototype marked "DO NOT USE" in Keras' source (keras/src/backend/tensorflow/
    distribution_lib.py). cnnblocks itself imports no TensorFlow, so its models build on JAX;
    that route is not tested here (no JAX in this environment, one host).
See docs/workflows.md.
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", choices=("default", "mirrored"), default="mirrored")
    parser.add_argument("--model", default="resnet18", help="a registered model (resnet18)")
    parser.add_argument("--cpu-replicas", type=int, default=0, metavar="N",
                        help="split the CPU into N logical devices first (0: leave as is)")
    parser.add_argument("--size", type=int, default=32, help="image size (32)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=0,
                        help="steps per epoch (0: the whole training set)")
    parser.add_argument("--batch-size", type=int, default=32, help="global batch (32)")
    args = parser.parse_args(argv)
    if args.cpu_replicas < 0:
        parser.error(f"--cpu-replicas must be >= 0, received {args.cpu_replicas}")
    return args


def split_cpu(replicas):
    """Splits the first CPU into `replicas` logical devices; must run before TF starts."""
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def make_strategy(name):
    import tensorflow as tf
    if name == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    return tf.distribute.get_strategy()


def main(argv=None):
    args = parse_args(argv)
    if args.cpu_replicas:
        print(f"logical CPU devices: {', '.join(split_cpu(args.cpu_replicas))}")
    import keras

    import cnnblocks
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _digits import load_digits

    keras.utils.set_random_seed(0)
    strategy = make_strategy(args.strategy)
    replicas = strategy.num_replicas_in_sync
    print(f"strategy: {type(strategy).__name__}, {replicas} replica(s)")
    x_train, x_test, y_train, y_test = load_digits(size=args.size, channels=3)
    if args.batch_size % replicas:
        raise SystemExit(f"--batch-size {args.batch_size} must be a multiple of the "
                         f"{replicas} replicas")
    with strategy.scope():  # variables (model and optimizer) are mirrored on every replica
        model = cnnblocks.create_model(args.model, input_shape=(args.size, args.size, 3),
                                       classes=10)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    print(f"model: {model.name}, {model.count_params():,} parameters, built in the scope; "
          f"global batch {args.batch_size} = {args.batch_size // replicas} per replica")
    steps = args.steps or math.ceil(len(x_train) / args.batch_size)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                        steps_per_epoch=steps if args.steps else None, verbose=0)
    for epoch, (loss, accuracy) in enumerate(zip(history.history["loss"],
                                                 history.history["accuracy"]), 1):
        print(f"epoch {epoch}: loss {loss:.4f}, accuracy {accuracy:.2%} ({steps} steps)")
    print(f"trained in {time.perf_counter() - start:.1f} s on {replicas} replica(s)")
    return history.history["loss"][-1], replicas


if __name__ == "__main__":
    main()
