"""The compositor: a template's text set over artwork, in packaged fonts (Noto; Amiri for Urdu), readable and never
clipped."""

from media.compositor.compose import (
    Composed,
    Placement,
    UnreadableArt,
    check_printable,
    compose,
    compose_png,
    slot_texts,
)
from media.compositor.fit import TextDoesNotFit
from media.compositor.fonts import MissingGlyph

__all__ = ["Composed", "MissingGlyph", "Placement", "TextDoesNotFit", "UnreadableArt", "check_printable", "compose",
           "compose_png", "slot_texts"]
