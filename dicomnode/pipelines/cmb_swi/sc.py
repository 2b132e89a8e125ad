"""Secondary Capture key images of the microbleeds (PS3.3 A.8.1 SC Image IOD, highdicom ``SCImage``).

One new series in the source study: for each magnitude slice holding a microbleed (those with the most
probable ones first, up to ``max_key_images``), the slice in a window of its own 1st-99th intensity
percentiles with a numbered circle around every microbleed on it (the numbers of the SR's groups), and a
burned-in banner "AI RESULT - NOT FOR DIAGNOSTIC USE" with the count and distribution; a study without a
microbleed gets one image of its middle slice saying so. Images narrower than :data:`MIN_WIDTH` columns
are enlarged by an integer factor (nearest neighbour) so that the text stays legible; Pixel Spacing says
so. Each image references its source slice and flags its burned-in text.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import cast

import highdicom as hd
import numpy as np
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset

from dicomnode.pipelines.cmb_swi.context import SC_SERIES_NUMBER, CmbReport
from dicomnode.pipelines.cmb_swi.sr import count_line
from dicomnode.results import banner
from dicomnode.results.capture import finish_capture
from dicomnode.results.geometry import patient_orientation, pixel_spacing
from dicomnode.results.sources import quiet_person_name_warnings
from inference.cmb import DetectionResult, Microbleed

logger = logging.getLogger(__name__)

MIN_WIDTH = 512
MARKER_COLOUR = (255, 64, 64)


def grey_levels(plane: np.ndarray) -> np.ndarray:
    """uint8 of a magnitude slice windowed to its 1st-99th percentiles."""
    low, high = np.percentile(plane, [1.0, 99.0])
    scaled = np.clip((plane - low) / max(float(high - low), 1e-6), 0.0, 1.0)
    grey: np.ndarray = np.round(scaled * 255.0).astype(np.uint8)
    return grey


def marked(grey: np.ndarray, bleeds: Sequence[tuple[int, Microbleed]], spacing: tuple[float, float], zoom: int,
           ) -> np.ndarray:
    """RGB of ``grey`` enlarged ``zoom`` times with a numbered circle around each (number, microbleed)."""
    big = np.kron(grey, np.ones((zoom, zoom), dtype=np.uint8)) if zoom > 1 else grey
    image = Image.fromarray(np.repeat(big[..., None], 3, axis=-1), mode="RGB")
    draw = ImageDraw.Draw(image)
    width = max(1, round(big.shape[1] / 256))
    for number, bleed in bleeds:
        _, row, col = bleed.voxel
        radius = zoom * (bleed.diameter_mm / 2.0 / min(spacing) + 3.0)
        x, y = (col + 0.5) * zoom, (row + 0.5) * zoom
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=MARKER_COLOUR, width=width)
        draw.text((x + radius + 2, y - radius), str(number), fill=MARKER_COLOUR)
    return np.asarray(image, dtype=np.uint8)


def _image(ref: Dataset, pixels: np.ndarray, uid: str, number: int, report: CmbReport, zoom: int) -> hd.sc.SCImage:
    spacing = pixel_spacing(ref)
    shown = (spacing[0] / zoom, spacing[1] / zoom) if spacing else None
    with quiet_person_name_warnings():
        image = hd.sc.SCImage.from_ref_dataset(
            ref_dataset=ref, pixel_array=pixels, photometric_interpretation="RGB", bits_allocated=8,
            coordinate_system="PATIENT", patient_orientation=patient_orientation(ref), sop_instance_uid=uid,
            instance_number=number, pixel_spacing=cast("tuple[int, int] | None", shown),
            transfer_syntax_uid="1.2.840.10008.1.2.1", series_instance_uid=report.uids.sc_series,
            series_number=SC_SERIES_NUMBER, manufacturer=report.manufacturer,
            series_description=f"AI CMB SC {report.model_name} {report.model_version}"[:64],
            software_versions=report.software_version, manufacturer_model_name="dicomnode",
            institution_name=report.institution_name,
        )
    finish_capture(image, [ref], report.created_at, (
        "SWI magnitude windowed to its 1st-99th percentiles with the microbleeds the "
        f"{report.model_name} model detected circled; AI result, not for diagnostic use"))
    image.ImageComments = "AI key image for cerebral microbleeds; not for diagnostic use"
    return image


def key_slices(result: DetectionResult, limit: int) -> list[int]:
    """Slices holding a microbleed, the one with the most probable first, at most ``limit``."""
    best: dict[int, float] = {}
    for bleed in result.microbleeds:
        best[bleed.voxel[0]] = max(best.get(bleed.voxel[0], 0.0), bleed.probability)
    return sorted(best, key=lambda k: (-best[k], k))[:limit]


def build_sc(result: DetectionResult, magnitude: Sequence[Dataset], planes: np.ndarray,
             report: CmbReport) -> list[hd.sc.SCImage]:
    """The key images (``planes``: the magnitude volume ``[k, j, i]`` in ``magnitude``'s order)."""
    numbered: dict[int, list[tuple[int, Microbleed]]] = defaultdict(list)
    for number, bleed in enumerate(result.microbleeds, start=1):
        numbered[bleed.voxel[0]].append((number, bleed))
    slices = key_slices(result, report.max_key_images) or [len(magnitude) // 2]
    zoom = max(1, -(-MIN_WIDTH // planes.shape[2]))
    images = []
    for instance, k in enumerate(sorted(slices), start=1):
        ref = magnitude[k]
        spacing = pixel_spacing(ref) or (1.0, 1.0)
        pixels = marked(grey_levels(planes[k]), numbered.get(k, []), spacing, zoom)
        lines = [banner.BANNER, f"slice {k + 1}/{len(magnitude)}: {len(numbered.get(k, []))} microbleed(s) marked",
                 "study: " + (count_line(result) if result.microbleeds else "no microbleed detected")]
        lines += result.notes[:2]
        pixels = banner.burn_in(pixels, lines)
        images.append(_image(ref, pixels, report.uids.key_slice(str(ref.SOPInstanceUID)), instance, report, zoom))
    logger.info("CMB SC series %s for series %s: %d image(s)", report.uids.sc_series,
                report.uids.source_series_uid, len(images))
    return images
