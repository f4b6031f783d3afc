"""What every example does with the model it builds: summarize it per block and draw it, with
cnnblocks' own tools; and a one-line-per-epoch progress log for the training examples."""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def out_dir(description):
    """Parses the examples' one argument, the folder the diagrams go to."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", nargs="?", default="out/examples",
                        help="folder for the diagrams (default: out/examples)")
    folder = Path(parser.parse_args().out)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def show(model, folder):
    """Prints the per-block summary and writes `<model name>.png`, each block drawn as its
    paper draws it (`cnnblocks.plot(..., level="module")`)."""
    import cnnblocks

    print(cnnblocks.summarize(model))
    print(f"{model.name}: {model.count_params():,} parameters")
    path = cnnblocks.plot(model, Path(folder) / f"{model.name}.png", level="module")
    print(f"diagram: {path}")
    return path


def epoch_log():
    """A Keras callback printing one line per epoch: loss, accuracy and time."""
    import keras

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            total = self.params.get("epochs", "?")
            accuracy = logs.get("accuracy")
            text = f", accuracy {accuracy:.2%}" if accuracy is not None else ""
            print(f"  epoch {epoch + 1}/{total}: loss {logs.get('loss', float('nan')):.4f}"
                  f"{text} ({time.perf_counter() - self.start:.1f} s)", flush=True)

    return EpochLog()
