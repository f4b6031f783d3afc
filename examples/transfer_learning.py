"""Transfer learning with a cnnblocks architecture, as in the pretrained-model tutorials: the
network without its top (`include_top=False`, global average pooling) as a frozen feature
extractor under a new classification head, then optional fine-tuning of its last blocks
(unfrozen by layer-name prefix), on scikit-learn's digits (8x8 grey, upsampled to 32x32 and
repeated to 3 channels; no download).

    python examples/transfer_learning.py [--model resnet18] [--weights PATH] [--unfreeze conv5_]

Other options: `--size 32` (image size), `--epochs 40` (head), `--fine-tune-epochs 3` (0 skips
fine-tuning).

Offline there are no ImageNet weights: give a weight file of the model without its top with
`--weights PATH` (e.g. keras.applications' `*_notop.h5` for resnet50, or a file you saved with
`model.save_weights("base.weights.h5")`), else the base is randomly initialised and the output
says so: the accuracies then show the workflow, not the value of pretraining. The images get the
model family's ImageNet preprocessing (`cnnblocks.apps.preprocessing_for`), as pretrained
weights expect.

Steps:
  1. base = create_model(model, include_top=False, pooling="avg"); base.trainable = False
  2. head: dropout -> Dense(10, softmax), trained on the frozen base's features (computed
     once: the cheap way to train a head on a frozen base); the full model is
     inputs -> base(inputs, training=False) -> head
  3. fine-tune: layers whose names start with `--unfreeze` (e.g. `conv5_` for ResNet,
     `block5_` for VGG, `mixed9,mixed10` for InceptionV3, `block13_,block14_` for Xception,
     `inception_5` for GoogLeNet) become trainable, batch norm stays frozen (the base keeps
     running in inference mode), and training goes on with a 10x lower learning rate.

Measured (random ResNet-18 base, defaults, 2 shared CPU cores): 92.7% held-out accuracy with the
frozen base, 96.0% after fine-tuning conv5_, in about 160 s of CPU time. Fine-tuning is the slow
part on a CPU: TensorFlow's CPU kernel for a 3x3 convolution's input gradient is slow on the 1x1
maps conv5 has at 32x32 (about 0.6 s per 64 images and convolution); `--unfreeze conv5_block2_`
fine-tunes only the last module.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import layers  # noqa: E402

import cnnblocks  # noqa: E402
from cnnblocks import apps  # noqa: E402

try:
    from _digits import load_digits
    from _show import epoch_log
except ImportError:  # imported as examples.transfer_learning
    from examples._digits import load_digits
    from examples._show import epoch_log


def unfreeze(base, prefixes):
    """Makes the layers whose names start with one of `prefixes` trainable (batch
    normalization excepted); returns their names."""
    base.trainable = True
    names = []
    for layer in base.layers:
        layer.trainable = (layer.name.startswith(tuple(prefixes))
                           and not isinstance(layer, layers.BatchNormalization))
        if layer.trainable and layer.weights:
            names.append(layer.name)
    if not names:
        raise ValueError(f"No layer with weights starts with {list(prefixes)!r}; the base's "
                         f"layers are {[layer.name for layer in base.layers]}.")
    return names


def _accuracy(model, x, y):
    return float(model.evaluate(x, y, verbose=0)[1])


def transfer(model_name="resnet18", weights=None, size=32, epochs=40, fine_tune_epochs=3,
             unfreeze_prefixes=("conv5_",), learning_rate=1e-3, batch_size=64, seed=0):
    """Runs the three steps of the module docstring; returns a dict of accuracies and times."""
    keras.utils.set_random_seed(seed)
    x_train, x_test, y_train, y_test = load_digits(size=size, channels=3)
    preprocess = apps.preprocessing_for(model_name)
    x_train, x_test = preprocess(x_train * 255.0), preprocess(x_test * 255.0)
    print(f"digits: {len(x_train)} training and {len(x_test)} held-out images, upsampled to "
          f"{size}x{size}x3, {model_name} preprocessing")
    if weights:
        print(f"base: {model_name} without top, weights from {weights}")
    else:
        print(f"base: {model_name} without top, RANDOMLY INITIALISED (no weight file given and "
              "no ImageNet weights offline): the accuracies show the workflow, not the benefit "
              "of pretraining")
    base = cnnblocks.create_model(model_name, include_top=False, weights=weights,
                                  input_shape=(size, size, 3), pooling="avg")
    base.trainable = False
    head = keras.Sequential([keras.Input(base.output.shape[1:]),
                             layers.Dropout(0.2, name="head_dropout"),
                             layers.Dense(10, activation="softmax", name="head_predictions")],
                            name="head")
    inputs = keras.Input((size, size, 3), name="image")
    # training=False: batch norm stays in inference mode, even when fine-tuning.
    model = keras.Model(inputs, head(base(inputs, training=False)), name=f"{model_name}_digits")
    print(f"model: {base.count_params():,} base parameters (frozen), "
          f"{head.count_params():,} in the new head")

    result = dict(model=model_name, pretrained=bool(weights))
    wall, cpu = time.perf_counter(), time.process_time()
    print("step 2: computing the frozen base's features once ...")
    f_train = base.predict(x_train, batch_size=128, verbose=0)
    f_test = base.predict(x_test, batch_size=128, verbose=0)
    print(f"  training the head on the {f_train.shape[1]} features for {epochs} epochs "
          f"(Adam {learning_rate:g}) ...")
    head.compile(optimizer=keras.optimizers.Adam(learning_rate),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    head.fit(f_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
             callbacks=[epoch_log()])
    result["head_accuracy"] = _accuracy(head, f_test, y_test)
    print(f"  held-out accuracy with the frozen base: {result['head_accuracy']:.2%} "
          f"({time.process_time() - cpu:.1f} s CPU so far)")

    if fine_tune_epochs:
        names = unfreeze(base, unfreeze_prefixes)
        trainable = sum(keras.ops.size(w) for w in base.trainable_weights)
        print(f"step 3: fine-tuning {len(names)} layer(s) starting with "
              f"{', '.join(unfreeze_prefixes)} ({int(trainable):,} base parameters) for "
              f"{fine_tune_epochs} epochs (Adam {learning_rate / 10:g}) ...")
        model.compile(optimizer=keras.optimizers.Adam(learning_rate / 10),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=fine_tune_epochs, batch_size=batch_size, verbose=0,
                  callbacks=[epoch_log()])
        result["fine_tuned_accuracy"] = _accuracy(model, x_test, y_test)
        print(f"  held-out accuracy after fine-tuning: {result['fine_tuned_accuracy']:.2%}")
    result.update(wall_s=time.perf_counter() - wall, cpu_s=time.process_time() - cpu)
    print(f"done in {result['wall_s']:.1f} s wall / {result['cpu_s']:.1f} s CPU")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resnet18", help="a registered model (resnet18)")
    parser.add_argument("--weights", default=None, metavar="PATH",
                        help="weight file of the model without its top (default: random init)")
    parser.add_argument("--size", type=int, default=32, help="image size (32)")
    parser.add_argument("--epochs", type=int, default=40, help="head epochs (40)")
    parser.add_argument("--fine-tune-epochs", type=int, default=3, help="0 to skip (3)")
    parser.add_argument("--unfreeze", default="conv5_", metavar="PREFIX[,PREFIX]",
                        help="layer-name prefixes to fine-tune (conv5_)")
    args = parser.parse_args()
    transfer(args.model, weights=args.weights, size=args.size, epochs=args.epochs,
             fine_tune_epochs=args.fine_tune_epochs,
             unfreeze_prefixes=tuple(p for p in args.unfreeze.split(",") if p))
