"""Pixels of the Secondary Capture images: brain window, saliency overlay, burned-in text, summary plot.

Everything here works on numpy arrays and returns 8-bit RGB ``[rows, cols, 3]`` (PS3.3 C.7.6.3:
Photometric Interpretation RGB, Bits Allocated 8, Planar Configuration 0). No patient attribute is ever
drawn: the banner carries the AI disclaimer and probabilities only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.pixels import apply_rescale

BANNER = "AI RESULT - NOT FOR DIAGNOSTIC USE"
BRAIN_WINDOW = (40.0, 80.0)
"""Centre and width in HU of the brain window (the model's first input channel)."""

OVERLAY_ALPHA = 0.55
OVERLAY_FLOOR = 0.4
"""Saliency below this fraction of the slice's range (min to max) is not drawn."""

BANNER_COLOUR = (255, 215, 0)
LABEL_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


def hounsfield(ds: Dataset) -> np.ndarray:
    """The slice in HU (Rescale Slope/Intercept applied, PS3.3 C.11.1.1.2), float32 [rows, cols]."""
    return np.asarray(apply_rescale(ds.pixel_array, ds), dtype=np.float32)


def window(hu: np.ndarray, centre: float = BRAIN_WINDOW[0], width: float = BRAIN_WINDOW[1]) -> np.ndarray:
    """Linear VOI window (PS3.3 C.11.2.1.2 without the 0.5 offsets) to uint8 grey levels."""
    low = centre - width / 2.0
    scaled = np.clip((hu - low) / width, 0.0, 1.0)
    return np.round(scaled * 255.0).astype(np.uint8)


def _heat(values: np.ndarray) -> np.ndarray:
    """A black-red-yellow ramp for values in [0, 1], float [rows, cols, 3] in [0, 1]."""
    red = np.clip(values * 2.0, 0.0, 1.0)
    green = np.clip(values * 2.0 - 1.0, 0.0, 1.0)
    return np.stack([red, green, np.zeros_like(values)], axis=-1)


def overlay(grey: np.ndarray, saliency: np.ndarray | None) -> np.ndarray:
    """The grey image as RGB with ``saliency`` (same shape, any range) blended in where it is high."""
    rgb = np.repeat(grey[..., None].astype(np.float32) / 255.0, 3, axis=-1)
    low, high = (float(np.min(saliency)), float(np.max(saliency))) if saliency is not None else (0.0, 0.0)
    if saliency is not None and high - low > 1e-6:
        norm = np.clip((saliency - low) / (high - low), 0.0, 1.0)
        alpha = np.where(norm >= OVERLAY_FLOOR, OVERLAY_ALPHA * norm, 0.0)[..., None]
        rgb = (1.0 - alpha) * rgb + alpha * _heat(norm)
    return np.round(rgb * 255.0).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def burn_in(rgb: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draw ``lines`` on a dark band across the top of ``rgb`` (the first one is the disclaimer).

    The font is the largest (up to 1/30 of the width) with which the longest line fits.
    """
    image = Image.fromarray(rgb, mode="RGB")
    rows, cols = rgb.shape[:2]
    size = max(6, int(cols / 30.0))
    font = _font(size)
    while size > 6 and max(font.getlength(line) for line in lines) > cols - size:
        size -= 1
        font = _font(size)
    draw = ImageDraw.Draw(image)
    height = int(len(lines) * size * 1.25 + size * 0.5)
    draw.rectangle((0, 0, cols, min(height, rows)), fill=(0, 0, 0))
    for number, line in enumerate(lines):
        draw.text((size * 0.4, size * 0.25 + number * size * 1.25), line, fill=BANNER_COLOUR, font=font)
    return np.asarray(image, dtype=np.uint8)


def probability_line(probs: Sequence[float], abbreviations: Sequence[str]) -> str:
    """``ICH 0.93  EDH 0.02 ...``: one probability per label, two decimals."""
    return "  ".join(f"{name} {float(p):.2f}" for name, p in zip(abbreviations, probs))


def summary_plot(
    slice_probs: np.ndarray, threshold: float, names: Sequence[str], title: str, lines: Sequence[str],
    size: tuple[int, int] = (768, 1024),
) -> np.ndarray:
    """Each label's probability along the slices (foot to head) with the operating threshold, as RGB.

    Parameters
    ----------
    slice_probs
        [slices, labels] probabilities.
    threshold
        Drawn as a dashed horizontal line.
    names
        Legend entry of each column.
    title
        Plot title.
    lines
        Burned-in banner lines above the plot (the disclaimer first).
    size
        (rows, cols) of the image.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows, cols = size
    dpi = 100
    figure = Figure(figsize=(cols / dpi, rows / dpi), dpi=dpi, facecolor="black")
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.08, 0.09, 0.58, 0.66), facecolor="black")
    x = np.arange(1, slice_probs.shape[0] + 1)
    for column, name in enumerate(names):
        axes.plot(x, slice_probs[:, column], color=LABEL_COLOURS[column % len(LABEL_COLOURS)],
                  lw=2.0 if column == 0 else 1.3, label=name)
    axes.axhline(threshold, color="white", ls="--", lw=1, label=f"threshold {threshold:g}")
    axes.set_ylim(0.0, 1.0)
    axes.set_xlim(1, max(2, slice_probs.shape[0]))
    axes.set_xlabel("slice (foot to head)", color="white")
    axes.set_ylabel("probability", color="white")
    axes.set_title(title, color="white", fontsize=11)
    axes.tick_params(colors="white")
    for spine in axes.spines.values():
        spine.set_color("white")
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, facecolor="black", labelcolor="white")
    figure.canvas.draw()
    rgba = np.asarray(figure.canvas.buffer_rgba(), dtype=np.uint8)
    rgb = np.ascontiguousarray(rgba[..., :3])
    return burn_in(rgb, lines)

