"""Turn image files, folders and ``.npy`` arrays into model input, as the manifest says.

The spec is the manifest's ``preprocess`` block: ``color`` ("L" or "RGB"), ``input_size``
``[H, W]``, ``resize`` (shorter side before a centre crop, ImageNet style; ``None`` resizes
straight to ``input_size``, as D2L's ``Resize`` does), ``scale`` (pixel values are multiplied
by it, 1/255 maps to [0, 1]), ``mean``/``std`` (per channel, applied after scaling) and
``layout`` ("NCHW", or "NHWC": channels last). Images are converted to the model's colour mode, as
torchvision's image-folder loader does; ``.npy`` arrays are taken as already preprocessed and
must match the model's per-sample shape exactly.
"""
import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InvalidInputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
ARRAY_SUFFIX = ".npy"


class InputError(InvalidInputError):
    """An input the model cannot take; the message names the file and the fix."""


@dataclass(frozen=True)
class Preprocess:
    """How one image becomes a ``(C, H, W)`` float32 array (``(H, W, C)`` for layout NHWC)."""

    color: str
    input_size: Tuple[int, int]
    resize: Optional[int] = None
    scale: float = 1.0 / 255
    mean: Optional[Tuple[float, ...]] = None
    std: Optional[Tuple[float, ...]] = None
    layout: str = "NCHW"

    @property
    def channels(self):
        return 1 if self.color == "L" else 3

    @property
    def sample_shape(self):
        """The array one image becomes, in the layout's order."""
        height, width = self.input_size
        return (height, width, self.channels) if self.layout == "NHWC" else (self.channels, height, width)

    @classmethod
    def from_dict(cls, spec):
        """Build from a manifest ``preprocess`` block (unknown keys are ignored)."""
        color = spec.get("color") or ("L" if spec.get("channels") == 1 else "RGB")
        if color not in ("L", "RGB"):
            raise InputError(f"manifest preprocess.color must be 'L' or 'RGB', got {color!r}")
        layout = spec.get("layout") or "NCHW"
        if layout not in ("NCHW", "NHWC"):
            raise InputError(f"manifest preprocess.layout {layout!r} is not supported (NCHW or NHWC)")
        size = spec["input_size"]
        return cls(
            color=color, input_size=(int(size[0]), int(size[1])),
            resize=spec.get("resize"), scale=float(spec.get("scale", 1.0 / 255)),
            mean=_tuple(spec.get("mean")), std=_tuple(spec.get("std")), layout=layout)

    @classmethod
    def for_shape(cls, sample_shape):
        """A plain default for a ``(C, H, W)`` model with no recorded preprocessing: scale to [0, 1]."""
        channels, height, width = sample_shape
        if channels not in (1, 3):
            raise InputError(f"model takes {channels} channels; only 1 (L) or 3 (RGB) can come from images")
        return cls(color="L" if channels == 1 else "RGB", input_size=(height, width))

    def to_dict(self):
        return {"channels": self.channels, "color": self.color, "input_size": list(self.input_size),
                "resize": self.resize, "scale": self.scale,
                "mean": None if self.mean is None else list(self.mean),
                "std": None if self.std is None else list(self.std), "layout": self.layout}

    def __call__(self, image):
        """A PIL image -> normalised ``(C, H, W)`` float32 array."""
        pixels = np.asarray(image.convert(self.color), dtype=np.float32) * np.float32(self.scale)
        planes = pixels[..., None] if pixels.ndim == 2 else pixels
        array = np.stack([_resize_and_crop(planes[..., c], self.input_size, self.resize)
                          for c in range(planes.shape[2])])
        if self.mean is not None:
            array = array - np.asarray(self.mean, np.float32).reshape(-1, 1, 1)
        if self.std is not None:
            array = array / np.asarray(self.std, np.float32).reshape(-1, 1, 1)
        if self.layout == "NHWC":
            array = array.transpose(1, 2, 0)
        return np.ascontiguousarray(array, dtype=np.float32)


def _tuple(value):
    return None if value is None else tuple(float(v) for v in value)


def _resize_and_crop(plane, size, resize):
    """Bilinear resize of one float plane in Pillow's 32-bit float mode (no 8-bit rounding,
    as the training data pipeline does), optionally shorter side first then a centre crop."""
    height, width = size
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))  # mode "F"
    if not resize:
        return np.asarray(image.resize((width, height), Image.BILINEAR))
    # ImageNet convention: shorter side to `resize`, then the centre (H, W) crop.
    ratio = resize / min(image.size)
    scaled = image.resize((max(width, round(image.width * ratio)), max(height, round(image.height * ratio))),
                          Image.BILINEAR)
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return np.asarray(scaled.crop((left, top, left + width, top + height)))


def collect_files(paths, suffixes=IMAGE_SUFFIXES + (ARRAY_SUFFIX,)):
    """Expand folders (sorted, files with ``suffixes`` only: images and ``.npy``) and check every path exists."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, name) for name in os.listdir(path) if name.lower().endswith(suffixes))
            if not found:
                kinds = ", ".join(suffixes) if len(suffixes) == 1 else f"image ({', '.join(IMAGE_SUFFIXES)}) or .npy"
                raise InputError(f"{path}: folder has no {kinds} files")
            files.extend(found)
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return files


def load_samples(path, sample_shape, preprocess):
    """One file -> a list of ``(label, array)`` samples, each of ``sample_shape``."""
    if path.lower().endswith(ARRAY_SUFFIX):
        return _load_array(path, sample_shape)
    if preprocess is None:
        raise InputError(f"{path}: model takes non-image input of shape {tuple(sample_shape)}; "
                         "give .npy arrays instead")
    try:
        with Image.open(path) as image:
            image.load()
            return [(path, preprocess(image))]
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{path}: not an image Pillow can read (PNG, JPEG, ...) nor a .npy array "
                         f"({type(err).__name__})") from None


def _load_array(path, sample_shape):
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err})") from None
    sample_shape = tuple(sample_shape)
    if array.shape == sample_shape:
        return [(path, array.astype(np.float32))]
    if array.ndim == len(sample_shape) + 1 and array.shape[1:] == sample_shape:
        return [(f"{path}[{i}]", row) for i, row in enumerate(array.astype(np.float32))]
    per_sample = array.shape[-len(sample_shape):] if array.ndim >= len(sample_shape) else array.shape
    if len(sample_shape) == 3 and len(per_sample) == 3 and per_sample[0] != sample_shape[0]:
        raise InputError(f"{path}: array has {per_sample[0]} channels but the model takes {sample_shape[0]} "
                         f"(per-sample shape {sample_shape}); give arrays of shape {sample_shape} or "
                         f"(N, {', '.join(map(str, sample_shape))})")
    raise InputError(f"{path}: array shape {array.shape} does not fit the model, which takes "
                     f"{sample_shape} per sample or a stack (N, {', '.join(map(str, sample_shape))})")
