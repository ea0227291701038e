"""The template catalog: ready-made prompts with typed variables, validated at start-up."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from media import text as learner_text
from media.layout import Layout
from media.model_spec import ModelSpec
from media.tomlfile import field_of, read_toml

CATALOG_DIR = Path(__file__).with_name("catalog")
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
FIELD_FIRST = re.compile(r"^([a-z_]+(?:\.[a-z0-9_]+)*): (.*)$", re.DOTALL)  # "layout.styles: ..." names its field
NO_TEXT = "artwork only, no text, no letters, no words"  # our compositor sets the text, crisp and spelt right
NO_TEXT_NEGATIVE = "text, letters, watermark"


UPLOAD_PREFIX = "upload:"  # an input image that is one of the learner's uploads, by id


def _now() -> datetime:
    return datetime.now(UTC)


class TemplateError(ValueError):
    """A template file that cannot be read or does not validate; names the file and the field, and keeps
    each (field, message) in ``problems``."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [("template", message)]


class UnknownTemplate(LookupError):
    """No template with that id is in the catalog."""


class VariableError(ValueError):
    """A variable (or the input image) that the template does not accept; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Variable(_Strict):
    """One typed slot of a prompt that the learner fills in."""

    name: str = Field(pattern=IDENTIFIER, max_length=32)
    label: str = ""
    type: Literal["text", "choice", "color"] = "text"
    max_length: int = Field(default=60, ge=1, le=200)
    choices: tuple[str, ...] = ()
    required: bool = True
    default: str | None = None
    sample: str | None = None  # example text for previews and hints; the default (or label) when unset
    hint: str = Field(default="", max_length=200)  # a line under the label on the learner's form

    @model_validator(mode="after")
    def _consistent(self) -> Variable:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"choice variable {self.name} needs choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"only a choice variable can have choices, {self.name} is {self.type}")
        for value in (self.default, self.sample):
            if value is not None:
                self.check(value)
        return self

    def example(self) -> str:
        """A value that fits: the sample, the default, the first choice, or the label (cut to fit)."""
        if self.sample is not None:
            return self.sample
        if self.default is not None:
            return self.default
        if self.type == "choice":
            return self.choices[0]
        if self.type == "color":
            return "#1f2937"
        return (self.label or self.name.replace("_", " ").capitalize())[:self.max_length]

    def check(self, value: Any) -> str:
        """The cleaned value, or ``VariableError`` naming this variable."""
        if not isinstance(value, str):
            raise VariableError(self.name, f"must be text, got {type(value).__name__}")
        cleaned = learner_text.clean(value)
        if not cleaned:
            if self.required:
                raise VariableError(self.name, "is required")
            return ""
        count = learner_text.length(cleaned)  # as the learner counts: "नमस्ते" is 3, a ZWJ family is 1
        if count > self.max_length:
            raise VariableError(self.name, f"is {count} characters long, at most {self.max_length} allowed")
        if self.type == "choice" and cleaned not in self.choices:
            raise VariableError(self.name, f"must be one of {list(self.choices)}, got {cleaned!r}")
        if self.type == "color" and not COLOR.match(cleaned):
            raise VariableError(self.name, f"must be a colour like #1a2b3c, got {cleaned!r}")
        return cleaned


class TemplateWords(_Strict):
    """A template's words in another language: its title, description and the labels of its fields."""

    title: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=400)
    labels: dict[str, str] = {}
    hints: dict[str, str] = {}  # each field's hint, by variable name


class Prompt(_Strict):
    """A rendered prompt and its negative prompt."""

    text: str
    negative: str


class Template(_Strict):
    """A ready-made image recipe a learner picks instead of typing a prompt."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)
    title: str = Field(min_length=1, max_length=80)
    description: str = Field(min_length=1, max_length=400)
    category: Literal["profile_photo", "poster", "social_post", "teaser"]
    cost: int = Field(gt=0, le=1000)
    version: int = Field(ge=1)
    aspect_ratio: Literal["1:1", "4:5", "9:16", "16:9", "2:3", "3:4"]
    prompt: str = Field(min_length=1, max_length=2000)
    negative_prompt: str = ""
    caption: str = Field(default="", max_length=200)
    palette: tuple[str, ...] = Field(default=("#1f2937", "#f59e0b", "#f9fafb"), min_length=2)
    variables: tuple[Variable, ...] = ()
    needs_input_image: bool = False
    model: ModelSpec
    layout: Layout = Layout()
    translations: dict[str, TemplateWords] = {}  # by language code: what the studio page shows in it
    featured: bool = False  # shown first in its category
    sort_order: int = Field(default=0, ge=0, le=1000)  # its place in its category, lower first

    @model_validator(mode="after")
    def _placeholders_are_declared(self) -> Template:
        names = [v.name for v in self.variables]
        if len(names) != len(set(names)):
            raise ValueError(f"variables: names must be unique, got {names}")
        for field in ("prompt", "negative_prompt", "caption"):
            for used in placeholders(getattr(self, field)):
                if used not in names:
                    raise ValueError(f"{field}: placeholder {{{used}}} is not a declared variable")
        if any(not COLOR.match(c) for c in self.palette):
            raise ValueError(f"palette: colours must look like #1a2b3c, got {list(self.palette)}")
        for lang, words in self.translations.items():
            for part, named in (("labels", words.labels), ("hints", words.hints)):
                if unknown := sorted(set(named) - set(names)):
                    raise ValueError(f"translations.{lang}.{part}: {unknown} name no variable")
        self._layout_fits_variables()
        return self

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (English when it has no translation)."""
        words = self.translations.get(lang)
        return words.title if words else self.title

    def description_in(self, lang: str) -> str:
        """The description in ``lang`` (English when it has no translation)."""
        words = self.translations.get(lang)
        return words.description if words else self.description

    def label_in(self, variable: Variable, lang: str) -> str:
        """A field's label in ``lang``: its translation, else its English label, else its name in words."""
        words = self.translations.get(lang)
        if words and variable.name in words.labels:
            return words.labels[variable.name]
        return variable.label or variable.name.replace("_", " ").capitalize()

    def hint_in(self, variable: Variable, lang: str) -> str:
        """A field's hint in ``lang``: its translation, else its English hint (may be empty)."""
        words = self.translations.get(lang)
        return words.hints.get(variable.name, variable.hint) if words else variable.hint

    def _layout_fits_variables(self) -> None:
        by_name = {v.name: v for v in self.variables}
        for i, slot in enumerate(self.layout.slots or ()):
            for where, text in (("text", slot.text), *((f"translations.{k}", v) for k, v in slot.translations.items())):
                for used in placeholders(text):
                    if used not in by_name and used != "caption":
                        raise ValueError(f"layout.slots.{i}.{where}: placeholder {{{used}}} of slot {slot.name} "
                                         "is not a declared variable")
        style = self.layout.style_variable
        if style is not None:
            if style not in by_name or by_name[style].type != "choice":
                raise ValueError(f"layout.style_variable: {style!r} must name a choice variable")
            unmapped = [c for c in by_name[style].choices if c not in self.layout.styles]
            if unmapped:
                raise ValueError(f"layout.styles: no art style for the choice(s) {unmapped} of {style}")
        for choice, tint in self.layout.tints.items():
            if not COLOR.match(tint) or style is None or choice not in by_name[style].choices:
                raise ValueError(f"layout.tints: {choice!r} = {tint!r} must map a choice of the style variable "
                                 f"to a colour like #1a2b3c")
        color = self.layout.color_variable
        if color is not None and (color not in by_name or by_name[color].type != "color"):
            raise ValueError(f"layout.color_variable: {color!r} must name a colour variable")

    def validate_variables(self, variables: dict[str, Any], input_image: str | None) -> dict[str, str]:
        """The cleaned variables, or ``VariableError`` for the first one (or the input image) that does not fit."""
        cleaned = self._clean(variables)
        check_input_image(self, input_image)
        return cleaned

    def render(self, variables: dict[str, Any]) -> Prompt:
        """The prompt with the validated variables filled in (no code, no attribute access)."""
        values = self._clean(variables)
        negative = ", ".join(p for p in (_fill(self.negative_prompt, values), NO_TEXT_NEGATIVE) if p)
        return Prompt(text=f"{_fill(self.prompt, values)}, {NO_TEXT}", negative=negative)

    def render_caption(self, variables: dict[str, Any]) -> str:
        """The short text that names the image (the gallery caption, the default headline)."""
        return _fill(self.caption, self._clean(variables)) or self.title

    def clean(self, variables: dict[str, Any]) -> dict[str, str]:
        """The validated variables with their defaults filled in, or ``VariableError``."""
        return self._clean(variables)

    def _clean(self, variables: dict[str, Any]) -> dict[str, str]:
        unknown = sorted(set(variables) - {v.name for v in self.variables})
        if unknown:
            raise VariableError(unknown[0], f"is not a variable of template {self.id}")
        cleaned = {}
        for spec in self.variables:
            value = variables.get(spec.name, spec.default)
            if value is None:
                if spec.required:
                    raise VariableError(spec.name, "is required")
                value = ""
            cleaned[spec.name] = spec.check(value)
        return cleaned


def check_input_image(template: Template, input_image: str | None) -> None:
    """Refuse a missing photo where one is needed, and one where none is; the error names the API field
    (``input_upload_id`` for an uploaded photo, ``input_image_url`` for a URL)."""
    field = "input_upload_id" if input_image and input_image.startswith(UPLOAD_PREFIX) else "input_image_url"
    if template.needs_input_image and not input_image:
        raise VariableError("input_image_url", f"template {template.id} needs the learner's photo: "
                                               "send input_upload_id (from POST /v1/uploads) or input_image_url")
    if not template.needs_input_image and input_image:
        raise VariableError(field, f"template {template.id} takes no photo")
    forms = ("https://", "http://", UPLOAD_PREFIX)
    if input_image and not (input_image.startswith(forms) and len(input_image) <= 2048):
        raise VariableError(field, "must be an https URL of at most 2048 characters")


def placeholders(text: str) -> list[str]:
    """The plain ``{name}`` fields of ``text``; anything fancier is refused."""
    names = []
    for _, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not re.match(IDENTIFIER, field) or spec or conversion:
            raise ValueError(f"placeholder {{{field}}} must be a plain variable name")
        names.append(field)
    return names


def _fill(text: str, values: dict[str, str]) -> str:
    return " ".join(text.format_map(values).split())


class TemplateCatalog(Protocol):
    """What the API and the workers ask of the templates: those learners see now, and any version."""

    def all(self) -> list[Template]:
        """Every template learners can pick now, in id order."""
        ...

    def get(self, template_id: str) -> Template:
        """The version of ``template_id`` in effect now; ``UnknownTemplate`` when there is none (or it is retired)."""
        ...

    def version(self, template_id: str, version: int) -> Template:
        """That version of ``template_id``, retired or not; ``UnknownTemplate`` when it was never published."""
        ...


@dataclass(frozen=True)
class Published:
    """One published version of a template and when it takes effect (None: since always)."""

    template: Template
    effective_at: datetime | None = None


class Catalog:
    """Every template by id: its published versions, which one is in effect at a time, whether it is retired."""

    def __init__(self, templates: list[Template], *, versions: dict[str, list[Published]] | None = None,
                 retired: frozenset[str] = frozenset(), clock: Callable[[], datetime] = _now) -> None:
        self._versions = {t.id: [Published(t)] for t in templates}
        for template_id, published in (versions or {}).items():
            self._versions[template_id] = sorted(published, key=lambda p: p.template.version)
        self._retired = retired
        self._clock = clock

    def all(self) -> list[Template]:
        """Every template learners can pick now, in id order."""
        at = self._clock()
        found = (self._in_effect(k, at) for k in sorted(self._versions) if k not in self._retired)
        return [t for t in found if t is not None]

    def get(self, template_id: str) -> Template:
        """The version of ``template_id`` in effect now, or ``UnknownTemplate`` (also when it is retired)."""
        found = None if template_id in self._retired else self._in_effect(template_id, self._clock())
        if found is None:
            raise UnknownTemplate(f"no template {template_id!r}")
        return found

    def version(self, template_id: str, version: int) -> Template:
        """Version ``version`` of ``template_id``, retired or not, or ``UnknownTemplate``."""
        for published in self._versions.get(template_id, ()):
            if published.template.version == version:
                return published.template
        raise UnknownTemplate(f"no version {version} of template {template_id!r}")

    def _in_effect(self, template_id: str, at: datetime) -> Template | None:
        found = [p.template for p in self._versions.get(template_id, ())
                 if p.effective_at is None or p.effective_at <= at]
        return found[-1] if found else None


def parse_template(fields: dict[str, Any], *, where: str) -> Template:
    """A template from its fields (a catalogue file's, or the same as JSON); ``TemplateError`` names
    ``where`` and each field. The one parser of a template, for files, imports and the admin API."""
    try:
        return Template.model_validate(fields)
    except ValidationError as invalid:
        found = [named_problem(field_of(e["loc"]), e["msg"]) for e in invalid.errors()]
        raise TemplateError(f"{where}: " + "; ".join(f"{f}: {m}" for f, m in found), found) from invalid


def named_problem(field: str, message: str) -> tuple[str, str]:
    """A validation problem as (field, message): a rule over several fields names its field first."""
    message = message.removeprefix("Value error, ")
    named = FIELD_FIRST.match(message)
    if not field and named:
        return named.group(1), named.group(2)
    return field or "template", message


def load_template(path: Path) -> Template:
    """Read and validate one template file; ``TemplateError`` names the file and the field."""
    return parse_template(read_toml(path, TemplateError), where=str(path))


def template_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A template's fields as the ledger keeps them: everything but ``version``, which the ledger numbers."""
    return {k: v for k, v in fields.items() if k != "version"}


def at_version(fields: dict[str, Any], version: int, *, where: str) -> Template:
    """The template of stored ``fields`` as published version ``version``."""
    return parse_template({**template_fields(fields), "version": version}, where=where)


def load_catalog(path: Path | None = None) -> Catalog:
    """Every ``*.toml`` template under ``path`` (default: the shipped catalog), all validated."""
    folder = path or CATALOG_DIR
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise TemplateError(f"{folder}: no template files (*.toml)")
    templates = [load_template(f) for f in files]
    seen: dict[str, Path] = {}
    for template, file in zip(templates, files, strict=True):
        if template.id in seen:
            raise TemplateError(f"{file}: id: {template.id!r} is already used by {seen[template.id]}")
        seen[template.id] = file
    return Catalog(templates)
