"""Turn image files, folders and ``.npy`` arrays into model input, as the manifest says.

The spec is the manifest's ``preprocess`` block: ``color`` ("L" or "RGB"), ``input_size``
``[H, W]``, ``resize`` (shorter side before a centre crop, ImageNet style; ``None`` resizes
straight to ``input_size``, as D2L's ``Resize`` does), ``scale`` (pixel values are multiplied
by it, 1/255 maps to [0, 1]), ``mean``/``std`` (per channel, applied after scaling) and
``layout`` ("NCHW", or "NHWC": channels last). Images are converted to the model's colour mode, as
torchvision's image-folder loader does; ``.npy`` arrays are taken as already preprocessed and
must match the model's per-sample shape exactly.

Pixels are read on the 8-bit scale whatever the image's depth: 16-bit images (modes ``I;16``,
``I``) are divided by 257 (65535 -> 255) and float images (``F``, taken as 0..1) multiplied by
255, so ``scale`` means the same for all. Images above :data:`MAX_PIXELS` (Pillow's
decompression-bomb limit), non-finite float pixels and non-finite arrays are refused.
"""
import math
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InvalidInputError

MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485  # Pillow's limit: about 0.25 GB per 8-bit channel
# Full scale of the modes Pillow reads deeper than 8 bits, mapped onto 0..255 (F: 0..1 floats).
WIDE_MODES = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0, "I": 65535.0, "F": 1.0}
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
        if not isinstance(spec, dict):
            raise InputError(f"manifest preprocess must be a JSON object, got a {type(spec).__name__}; "
                             "re-export the model")
        color = spec.get("color") or ("L" if spec.get("channels") == 1 else "RGB")
        if color not in ("L", "RGB"):
            raise InputError(f"manifest preprocess.color must be 'L' or 'RGB', got {color!r}")
        layout = spec.get("layout") or "NCHW"
        if layout not in ("NCHW", "NHWC"):
            raise InputError(f"manifest preprocess.layout {layout!r} is not supported (NCHW or NHWC)")
        scale = spec.get("scale")
        size = _numbers(spec.get("input_size"), "input_size") or ()
        return cls(color=color, input_size=tuple(int(v) for v in size),
                   resize=spec.get("resize"), scale=_numbers(1.0 / 255 if scale is None else scale, "scale")[0],
                   mean=_numbers(spec.get("mean"), "mean"), std=_numbers(spec.get("std"), "std"), layout=layout)

    def __post_init__(self):
        problem = _problem(self)
        if problem:
            raise InputError(f"manifest preprocess.{problem}; re-export the model or fix its manifest")

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
        pixels = eight_bit_scale(image, self.color) * np.float32(self.scale)
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


def eight_bit_scale(image, color):
    """``image`` in ``color`` mode as float32 pixels on the 8-bit scale (0..255), whatever its bit
    depth: Pillow's own ``convert`` clips 16-bit and float images to 0/255 instead."""
    full = WIDE_MODES.get(image.mode)
    if full is None:
        return np.asarray(image.convert(color), dtype=np.float32)
    pixels = np.asarray(image, dtype=np.float32) * np.float32(255.0 / full)  # one (gray) plane
    if not np.isfinite(pixels).all():
        raise InputError(f"{getattr(image, 'filename', '') or 'image'}: has NaN or infinite pixels")
    return pixels if color == "L" else np.repeat(pixels[..., None], 3, axis=2)


def _problem(spec):
    """What makes ``spec`` unusable (e.g. a zero std, which divides every input by zero), or None."""
    if len(spec.input_size) != 2 or min(spec.input_size) < 1:
        return f"input_size {list(spec.input_size)} must be two positive sizes"
    if spec.resize is not None and (isinstance(spec.resize, bool) or not isinstance(spec.resize, int)
                                    or spec.resize < 1):
        return f"resize {spec.resize!r} must be null or a positive size"
    if spec.scale <= 0:
        return f"scale {spec.scale} must be positive"
    if spec.std is not None and 0 in spec.std:
        return f"std {list(spec.std)} has a zero, which divides every input by zero"
    for key, values in (("mean", spec.mean), ("std", spec.std)):
        if values is not None and len(values) not in (1, spec.channels):
            return f"{key} has {len(values)} values for {spec.channels} channel(s)"
    return None


def _numbers(values, key):
    """A manifest list of finite numbers (``scale``: one number) as a tuple; None stays None."""
    if values is None:
        return None
    if key == "scale" and not isinstance(values, (list, tuple)):
        values = [values]
    numbers = None
    if isinstance(values, (list, tuple)) and values and not any(isinstance(v, (bool, str)) for v in values):
        try:
            numbers = tuple(float(v) for v in values)
        except (TypeError, ValueError):
            numbers = None
    if numbers is None or not all(math.isfinite(v) for v in numbers):
        what = "a finite number" if key == "scale" else "a list of finite numbers"
        raise InputError(f"manifest preprocess.{key} must be {what}, got {values!r}; "
                         "re-export the model or fix its manifest")
    return numbers


def _resize_and_crop(plane, size, resize):
    """Bilinear resize of one float plane in Pillow's 32-bit float mode (no 8-bit rounding,
    as the training data pipeline does), optionally shorter side first then a centre crop."""
    height, width = size
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))  # mode "F"
    if not resize:
        return np.asarray(image.resize((width, height), Image.BILINEAR))
    # ImageNet convention: shorter side to `resize`, then the centre (H, W) crop.
    ratio = resize / min(image.size)
    scaled_size = (max(width, round(image.width * ratio)), max(height, round(image.height * ratio)))
    if scaled_size[0] * scaled_size[1] > MAX_PIXELS:
        raise InputError(f"manifest preprocess.resize {resize} scales the image to {scaled_size[0]}x{scaled_size[1]} "
                         f"pixels, more than {MAX_PIXELS}; re-export the model or fix its manifest")
    scaled = image.resize(scaled_size, Image.BILINEAR)
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return np.asarray(scaled.crop((left, top, left + width, top + height)))


def collect_files(paths):
    """Expand folders (sorted, image and ``.npy`` files only) and check every path exists."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_SUFFIXES + (ARRAY_SUFFIX,)))
            if not found:
                raise InputError(f"{path}: folder has no image ({', '.join(IMAGE_SUFFIXES)}) or .npy files")
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused just below
            image = Image.open(path)
        with image:
            _check_size(path, image)
            image.load()
            return [(path, preprocess(image))]
    except Image.DecompressionBombError as err:
        raise InputError(f"{path}: image is far larger than the {MAX_PIXELS} pixels this loader decodes "
                         f"({err}); downscale it first") from None
    except (UnidentifiedImageError, OSError) as err:
        raise InputError(f"{path}: not an image Pillow can read (PNG, JPEG, ...) nor a .npy array "
                         f"({type(err).__name__})") from None


def _check_size(path, image):
    """Refuse an image whose header promises more pixels than :data:`MAX_PIXELS`, before decoding."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InputError(f"{path}: image is {width}x{height} pixels, more than the {MAX_PIXELS} this "
                         "loader decodes (a decompression bomb, or a photo far above the model's input "
                         "size); downscale it first")


def _load_array(path, sample_shape):
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err})") from None
    if array.dtype.kind not in "biuf":
        raise InputError(f"{path}: array of {array.dtype} is not numbers; save a float32 array")
    with np.errstate(over="ignore"):  # beyond float32's range: infinite, refused just below
        array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise InputError(f"{path}: array holds NaN or infinite values (or values beyond float32); "
                         "give finite numbers")
    sample_shape = tuple(sample_shape)
    if array.shape == sample_shape:
        return [(path, array)]
    if array.ndim == len(sample_shape) + 1 and array.shape[1:] == sample_shape:
        return [(f"{path}[{i}]", row) for i, row in enumerate(array)]
    per_sample = array.shape[-len(sample_shape):] if array.ndim >= len(sample_shape) else array.shape
    if len(sample_shape) == 3 and len(per_sample) == 3 and per_sample[0] != sample_shape[0]:
        raise InputError(f"{path}: array has {per_sample[0]} channels but the model takes {sample_shape[0]} "
                         f"(per-sample shape {sample_shape}); give arrays of shape {sample_shape} or "
                         f"(N, {', '.join(map(str, sample_shape))})")
    raise InputError(f"{path}: array shape {array.shape} does not fit the model, which takes "
                     f"{sample_shape} per sample or a stack (N, {', '.join(map(str, sample_shape))})")
