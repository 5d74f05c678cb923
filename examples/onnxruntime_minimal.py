"""Classify one image with plain onnxruntime, Pillow and numpy: python onnxruntime_minimal.py artifacts/lenet_bn digit.png"""
import json, sys
import numpy as np, onnxruntime as ort
from PIL import Image

if len(sys.argv) != 3:  # a usage error: one line, exit status 2 as argparse's
    print(f"usage: python {sys.argv[0]} ARTIFACT_FOLDER IMAGE  (e.g. artifacts/lenet_bn digits/digit_000_label7.png)",
          file=sys.stderr)
    sys.exit(2)
folder, image = sys.argv[1:]
manifest = json.load(open(f"{folder}/manifest.json"))
pre = manifest["preprocess"]  # color, input_size [H, W], scale, mean, std (a resize/crop step is skipped here)
x = np.asarray(Image.open(image).convert(pre["color"]).resize(pre["input_size"][::-1]), np.float32) * pre["scale"]
x = (x[None] if x.ndim == 2 else x.transpose(2, 0, 1)) - np.reshape(pre["mean"] or 0, (-1, 1, 1))
x = x / np.reshape(pre["std"] or 1, (-1, 1, 1))
session = ort.InferenceSession(f"{folder}/model.onnx", providers=ort.get_available_providers())
scores = session.run(None, {session.get_inputs()[0].name: x[None].astype(np.float32)})[0][0]
best = int(scores.argmax())
print(best, (manifest.get("labels") or [best] * (best + 1))[best])
