"""What publishing a template checks, so that no learner trips on it: its fields and its variables agree,
every word it sets has glyphs, every style and language fits inside the safe margins at the native
size, its price is within the policy's bounds, and a configured provider can render it. Each problem
names its field."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from media.compositor.compose import compose
from media.compositor.fit import TextDoesNotFit
from media.compositor.fonts import MissingGlyph, check_glyphs, script_of
from media.ports import SIZES
from media.templates import Template, placeholders

Problem = tuple[str, str]
LANGUAGE_NAMES = {"en": "English", "hi": "Hindi", "mr": "Marathi", "ta": "Tamil", "te": "Telugu"}


@dataclass(frozen=True)
class Rendering:
    """Where the templates are rendered: the provider for every template, or "template" (each its own) with
    the providers this deployment has configured."""

    image_provider: str
    providers: tuple[str, ...]


def publish_problems(template: Template, *, max_cost: int, rendering: Rendering) -> list[Problem]:
    """Everything that would stop a learner's image from coming out right; empty when none."""
    found = [*unused_variables(template), *_price(template, max_cost), *_provider(template, rendering)]
    found += missing_glyphs(template)
    if not found:  # a layout is only worth setting with words it can draw
        found += layout_problems(template)
    return found


def unused_variables(template: Template) -> list[Problem]:
    """Declared variables that nothing uses: not the prompt, the caption, a slot, the style or the colour."""
    texts = [template.prompt, template.negative_prompt, template.caption]
    for slot in template.layout.slots or ():
        texts += [slot.text, *slot.translations.values()]
    used = {name for text in texts for name in placeholders(text)}
    used |= {template.layout.style_variable or "", template.layout.color_variable or ""}
    if template.layout.slots is None:  # the default slot sets the caption
        used |= set(placeholders(template.caption))
    return [(f"variables.{i}.name", f"{v.name} is declared but no prompt, caption or layout slot uses it")
            for i, v in enumerate(template.variables) if v.name not in used]


def missing_glyphs(template: Template) -> list[Problem]:
    """Words of the template (its slots, its translations, its sample values) with characters its fonts
    cannot draw."""
    checks: list[tuple[str, str, str]] = []
    for i, slot in enumerate(template.layout.slots or ()):
        checks.append((f"layout.slots.{i}.text", slot.text, slot.role))
        checks += [(f"layout.slots.{i}.translations.{lang}", text, slot.role)
                   for lang, text in slot.translations.items()]
    for lang, words in template.translations.items():
        checks += [(f"translations.{lang}.title", words.title, "display"),
                   (f"translations.{lang}.description", words.description, "text")]
        checks += [(f"translations.{lang}.labels.{name}", label, "text") for name, label in words.labels.items()]
    for i, variable in enumerate(template.variables):
        checks.append((f"variables.{i}.sample", variable.example(), "display"))
    found = []
    for field, text, role in checks:
        try:
            check_glyphs(text, script_of(text), role)
        except MissingGlyph as error:
            found.append((field, str(error)))
    return found


def layout_problems(template: Template) -> list[Problem]:
    """Each style and language set with the sample values on a plain canvas at the native size: text that
    does not fit inside the safe margins names its slot."""
    found: list[Problem] = []
    for style in _styles(template):
        for language in ("en", *sorted(template.translations)):
            values = sample_values(template, language, style)
            problem = _first_misfit(template, values)
            if problem is not None:
                field, why = problem
                where = f"style {style!r}, " if style else ""
                found.append((field, f"{where}{LANGUAGE_NAMES.get(language, language)}: {why}"))
    return found


def sample_values(template: Template, language: str, style: str | None = None) -> dict[str, str]:
    """The sample value of every variable, in ``language`` where the template translates a field's label
    (the closest words in that language it has), with the style variable set to ``style``."""
    words = template.translations.get(language)
    values = {}
    for variable in template.variables:
        value = variable.example()
        if variable.type == "text" and words is not None and variable.name in words.labels:
            value = words.labels[variable.name][:variable.max_length]
        values[variable.name] = value
    if style is not None and template.layout.style_variable:
        values[template.layout.style_variable] = style
    return values


def _styles(template: Template) -> list[str | None]:
    name = template.layout.style_variable
    spec = next((v for v in template.variables if v.name == name), None)
    return list(spec.choices) if spec is not None else [None]


def _first_misfit(template: Template, values: dict[str, str]) -> Problem | None:
    canvas = Image.new("RGB", SIZES[template.aspect_ratio], template.palette[0])
    try:
        compose(canvas, template, values)
        return None
    except (TextDoesNotFit, MissingGlyph) as error:
        failure = str(error)
    # Which slot: each set alone (only when the whole does not fit, so the usual case composes once).
    language = script_of(" ".join(values.values()))
    for i, slot in enumerate(template.layout.slots or ()):
        alone = template.model_copy(update={"layout": template.layout.model_copy(update={"slots": (slot,)})})
        try:
            compose(canvas, alone, values)
        except (TextDoesNotFit, MissingGlyph) as error:
            chosen = next((f"translations.{k}" for k in slot.translations if language != "latin"
                           and script_of(slot.translations[k]) == language), "text")
            return f"layout.slots.{i}.{chosen}", str(error)
    return "layout", failure


def _price(template: Template, max_cost: int) -> list[Problem]:
    if template.cost > max_cost:
        return [("cost", f"{template.cost} credits is more than the policy allows a template ({max_cost})")]
    return []


def _provider(template: Template, rendering: Rendering) -> list[Problem]:
    if rendering.image_provider != "template":  # one provider renders every template
        return []
    usable = {template.model.provider, *template.model.alternatives} & set(rendering.providers)
    if usable:
        return []
    return [("model.provider", f"{template.model.provider} is not configured here and no alternative is "
             f"(configured: {', '.join(rendering.providers)}); add model.alternatives for one of them")]
