"""The compositor as a pipeline step: a model's artwork in, the finished image (with its text) out."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from media.compositor.compose import UnreadableArt, compose, compose_art
from media.compositor.fit import TextDoesNotFit
from media.compositor.fonts import MissingGlyph
from media.errors import InvalidInput
from media.ports import ImageResult
from media.templates import Template


def finish(template: Template, variables: dict[str, Any], artwork: ImageResult) -> ImageResult:
    """``artwork`` (its picture when the model handed one over, else its bytes decoded) with the template's text
    set on it, as JPEG at the native size, encoded once; the time it took in timings."""
    start = time.perf_counter()
    try:
        if artwork.picture is not None:
            composed = compose(artwork.picture, template, variables)
        else:
            composed = compose_art(artwork.data, template, variables)
    except (MissingGlyph, TextDoesNotFit, UnreadableArt) as error:
        raise InvalidInput(f"cannot set the text of {template.id}: {error}") from error
    data = composed.jpeg()
    timings = {**artwork.timings, "compose": round(time.perf_counter() - start, 3)}
    return dataclasses.replace(artwork, data=data, content_type="image/jpeg", timings=timings, picture=composed.image)
