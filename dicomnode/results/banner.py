"""The burned-in banner of every Secondary Capture result: the AI disclaimer and a few lines of text.

Shared by every pipeline's SC writers (8-bit RGB ``[rows, cols, 3]``, PS3.3 C.7.6.3). No patient attribute
is ever drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BANNER = "AI RESULT - NOT FOR DIAGNOSTIC USE"
BANNER_COLOUR = (255, 215, 0)


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at ``size`` pixels (one bitmap size on Pillow < 10.1)."""
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
    face = font(size)
    while size > 6 and max(face.getlength(line) for line in lines) > cols - size:
        size -= 1
        face = font(size)
    draw = ImageDraw.Draw(image)
    height = int(len(lines) * size * 1.25 + size * 0.5)
    draw.rectangle((0, 0, cols, min(height, rows)), fill=(0, 0, 0))
    for number, line in enumerate(lines):
        draw.text((size * 0.4, size * 0.25 + number * size * 1.25), line, fill=BANNER_COLOUR, font=face)
    return np.asarray(image, dtype=np.uint8)
