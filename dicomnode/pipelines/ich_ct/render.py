"""Pixels of the Secondary Capture images: brain window, region overlay and legend, burned-in text, summary plot.

Everything here works on numpy arrays and returns 8-bit RGB ``[rows, cols, 3]`` (PS3.3 C.7.6.3:
Photometric Interpretation RGB, Bits Allocated 8, Planar Configuration 0). No patient attribute is ever
drawn: the banner carries the AI disclaimer and probabilities only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_rescale

from dicomnode.results import banner

BRAIN_WINDOW = (40.0, 80.0)
"""Centre and width in HU of the brain window (the model's first input channel)."""

REGION_ALPHA = 0.35
"""Opacity of the region's fill; its outline and centre are drawn opaque."""
REGION_COLOUR = (255, 48, 48)
CENTRE_COLOUR = (0, 230, 255)
LEGEND = ("AI attribution: model saliency within the intracranial space, 40-100 HU", "+ region centre")

LABEL_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf")


def hounsfield(ds: Dataset) -> np.ndarray:
    """The slice in HU (Rescale Slope/Intercept applied, PS3.3 C.11.1.1.2), float32 [rows, cols]."""
    return np.asarray(apply_rescale(ds.pixel_array, ds), dtype=np.float32)


def window(hu: np.ndarray, centre: float = BRAIN_WINDOW[0], width: float = BRAIN_WINDOW[1]) -> np.ndarray:
    """Linear VOI window (PS3.3 C.11.2.1.2 without the 0.5 offsets) to uint8 grey levels."""
    low = centre - width / 2.0
    scaled = np.clip((hu - low) / width, 0.0, 1.0)
    return np.round(scaled * 255.0).astype(np.uint8)


def region_overlay(
    grey: np.ndarray, mask: np.ndarray | None, outline: np.ndarray | None, centre: tuple[float, float] | None,
) -> np.ndarray:
    """The grey image as RGB with a region drawn on it: translucent fill, opaque outline, centre cross.

    Parameters
    ----------
    grey
        uint8 [rows, cols] the windowed slice.
    mask
        bool [rows, cols] the region (only these pixels are tinted), or None.
    outline
        float [n, 2] closed polyline in DICOM image coordinates (column, row; pixel centres at +0.5), or None.
    centre
        (column, row) in the same coordinates, or None.
    """
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    if mask is not None:
        tint = np.asarray(REGION_COLOUR, dtype=np.float32)
        blended = (1.0 - REGION_ALPHA) * rgb[mask].astype(np.float32) + REGION_ALPHA * tint
        rgb[mask] = np.round(blended).astype(np.uint8)
    if outline is None and centre is None:
        return rgb
    image = Image.fromarray(rgb, mode="RGB")
    draw = ImageDraw.Draw(image)
    width = max(1, round(grey.shape[1] / 256))
    if outline is not None:
        draw.line([(float(x) - 0.5, float(y) - 0.5) for x, y in outline], fill=REGION_COLOUR, width=width)
    if centre is not None:
        x, y, arm = centre[0] - 0.5, centre[1] - 0.5, 3 * width + 2
        draw.line([(x - arm, y), (x + arm, y)], fill=CENTRE_COLOUR, width=width)
        draw.line([(x, y - arm), (x, y + arm)], fill=CENTRE_COLOUR, width=width)
    return np.asarray(image, dtype=np.uint8)


def legend(rgb: np.ndarray, lines: Sequence[str] = LEGEND) -> np.ndarray:
    """Draw the overlay's legend (colour swatch per line) on a dark band across the bottom of ``rgb``."""
    image = Image.fromarray(rgb, mode="RGB")
    rows, cols = rgb.shape[:2]
    size = max(6, int(cols / 40.0))
    face = banner.font(size)
    while size > 6 and max(face.getlength(line) for line in lines) > cols - 3 * size:
        size -= 1
        face = banner.font(size)
    height = int(len(lines) * size * 1.3 + size * 0.4)
    top = max(0, rows - height)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, top, cols, rows), fill=(0, 0, 0))
    for number, (line, colour) in enumerate(zip(lines, (REGION_COLOUR, CENTRE_COLOUR))):
        y = top + size * 0.2 + number * size * 1.3
        draw.rectangle((size * 0.4, y + size * 0.2, size * 1.2, y + size), fill=colour)
        draw.text((size * 1.6, y), line, fill=banner.BANNER_COLOUR, font=face)
    return np.asarray(image, dtype=np.uint8)


def probability_line(probs: Iterable[float], abbreviations: Sequence[str]) -> str:
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
    raw = io.BytesIO()
    figure.savefig(raw, format="raw", dpi=dpi)  # RGBA bytes, rows x cols x 4
    rgba = np.frombuffer(raw.getvalue(), dtype=np.uint8).reshape(rows, cols, 4)
    rgb = np.ascontiguousarray(rgba[..., :3])
    return banner.burn_in(rgb, lines)

