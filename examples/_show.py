"""What every example does with the model it builds: print it, count it, draw it."""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def out_dir(description):
    """Parses the examples' one argument, the folder the diagrams go to."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", nargs="?", default="out/examples",
                        help="folder for the plot_model diagrams (default: out/examples)")
    folder = Path(parser.parse_args().out)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def show(model, folder):
    """Prints the summary and parameter count and writes `<model name>.png` with shapes."""
    import keras

    model.summary()
    print(f"{model.name}: {model.count_params():,} parameters")
    path = Path(folder) / f"{model.name}.png"
    keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True)
    print(f"diagram: {path}")
    return path
