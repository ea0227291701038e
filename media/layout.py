"""A template's layout: where its text goes, in which font and size, and which artwork sits behind it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ART_STYLES = ("minimal", "retro", "neon", "corporate", "watercolour", "geometric", "papercut", "scenic")
PHOTO_TREATMENTS = ("duotone", "oil", "popart", "watercolour", "sketch", "professional")
SCENES = ("mountains", "ocean", "city", "forest")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Slot(_Strict):
    """One block of text on the image: what it says, how big it may be and where it may go.

    ``box`` is ``[left, top, right, bottom]`` as fractions of the width and height; the text is
    wrapped and shrunk (within ``size``, pixels at the native size) until it fits the box.
    """

    name: Literal["headline", "subline", "date", "name", "cta", "kicker"]
    text: str = Field(min_length=1, max_length=200)  # a format string over the template's variables
    translations: dict[Literal["hi", "mr", "ta", "te"], str] = {}  # literal words in the learner's language
    role: Literal["display", "text"] = "display"
    weight: Literal["regular", "medium", "semibold", "bold", "black"] = "bold"
    size: tuple[int, int] = (32, 96)
    align: Literal["left", "center", "right"] = "left"
    valign: Literal["top", "middle", "bottom"] = "top"
    box: tuple[float, float, float, float]
    max_lines: int = Field(default=3, ge=1, le=8)
    color: Literal["ink", "accent", "base", "learner"] = "ink"
    backdrop: Literal["none", "auto", "scrim", "panel", "pill"] = "auto"  # auto: a scrim where the art is busy
    uppercase: bool = False

    @model_validator(mode="after")
    def _sane(self) -> Slot:
        low, high = self.size
        if not 8 <= low <= high <= 400:
            raise ValueError(f"size must be [min, max] with 8 <= min <= max <= 400, got {list(self.size)}")
        left, top, right, bottom = self.box
        if not (0 <= left < right <= 1 and 0 <= top < bottom <= 1):
            raise ValueError(f"box must be [left, top, right, bottom] fractions with left < right, top < bottom, "
                             f"got {list(self.box)}")
        return self


class Layout(_Strict):
    """How the compositor sets a template: its slots, safe margin, and the art drawn for each style."""

    margin: float = Field(default=0.06, ge=0.0, le=0.2)  # the safe margin, as a fraction of the shorter side
    style_variable: str | None = None  # the choice variable that picks the art style
    styles: dict[str, str] = {}  # that variable's choices → an art style or photo treatment
    art: str = "minimal"  # the art style when no variable picks one
    color_variable: str | None = None  # a colour variable that tints the art and may colour text
    tints: dict[str, str] = {}  # style choices → the colour that tints their art (a backdrop, a duotone)
    slots: tuple[Slot, ...] | None = None  # None: the caption as a headline; []: no text at all

    @model_validator(mode="after")
    def _styles_known(self) -> Layout:
        for style in (self.art, *self.styles.values()):
            kind, _, motif = style.partition(":")
            if kind not in ART_STYLES + PHOTO_TREATMENTS or (kind == "scenic" and motif not in SCENES):
                raise ValueError(f"unknown art style {style!r}; styles are {list(ART_STYLES + PHOTO_TREATMENTS)} "
                                 f"(scenic:<{'|'.join(SCENES)}>)")
        names = [s.name for s in self.slots or ()]
        if len(names) != len(set(names)):
            raise ValueError(f"slot names must be unique, got {names}")
        return self

    def style_for(self, values: dict[str, str]) -> str:
        """The art style (or photo treatment) for the learner's choices."""
        if self.style_variable is None:
            return self.art
        return self.styles.get(values.get(self.style_variable, ""), self.art)

    def tint_for(self, values: dict[str, str]) -> str | None:
        """The learner's colour, else the colour the chosen style tints its art with, else None."""
        if self.color_variable and values.get(self.color_variable):
            return values[self.color_variable]
        return self.tints.get(values.get(self.style_variable or "", "")) or None


DEFAULT_SLOT = Slot(name="headline", text="{caption}", box=(0.0, 0.62, 1.0, 1.0), valign="bottom",
                    size=(28, 96), backdrop="scrim")
