"""Render every template in each style, in English and Hindi, with the embedded default (the local model and
the compositor), and write docs/templates.md with the images: `make templates-doc`."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from media import samples  # noqa: E402
from media.ports import SIZES  # noqa: E402
from media.templates import Template, load_catalog  # noqa: E402

OUT = ROOT / "docs" / "templates"
PAGE = ROOT / "docs" / "templates.md"
LONG_SIDE = 540  # the committed renders are small WebP files; the real output is at the native size
NAMES = {"en": "English", "hi": "Hindi"}
# the other scripts learners write, and emoji: one template of each category in each, smaller still
SCRIPT_NAMES = {"bn": "Bengali", "gu": "Gujarati", "pa": "Punjabi (Gurmukhi)", "kn": "Kannada", "ml": "Malayalam",
                "or": "Odia", "ur": "Urdu (right to left)", "emoji": "English with emoji"}
BY_CATEGORY = {"poster": "poster-course-launch", "profile_photo": "profile-professional",
               "social_post": "social-story", "teaser": "teaser-thumbnail"}
SCRIPT_SIDE = 300


def slug(*parts: str | None) -> str:
    return "--".join((p or "default").replace(" ", "-") for p in parts)


def languages(template: Template) -> tuple[str, ...]:
    has_text = template.layout.slots is None or bool(template.layout.slots)
    return ("en", "hi") if has_text else ("en",)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.webp"):
        old.unlink()
    lines = ["# Templates", "",
             "Every template as the embedded default renders it (the `local` model's procedural art, or the "
             "learner's photo for a profile template, with the text set by the compositor), in each style and in "
             "English and Hindi. Regenerate with `make templates-doc`; the images here are reduced to "
             f"{LONG_SIDE} px on their longer side, the real output is at the native size named in each heading. "
             "Templates that set no text (two profile templates) are shown once.",
             "", "The sample photo for the profile templates (NASA, public domain):", "",
             "![sample photo](templates/portrait.jpg)", ""]
    for template in load_catalog().all():
        width, height = SIZES[template.aspect_ratio]
        lines += [f"## {template.title} (`{template.id}`)", "",
                  f"{template.description} {template.category.replace('_', ' ')}, {template.aspect_ratio}, "
                  f"{width}x{height}; model `{template.model.provider}` / `{template.model.model_id}`.", ""]
        header, row = [], []
        for style in samples.styles(template):
            for language in languages(template):
                values = samples.variables(template, style, language)
                generation_id = uuid.uuid5(uuid.NAMESPACE_URL, f"studio-ledger:{template.id}:{style}:{language}")
                image = samples.render(template, values, generation_id).image
                image.thumbnail((LONG_SIDE, LONG_SIDE))
                name = f"{slug(template.id, style, language)}.webp"
                image.save(OUT / name, format="WEBP", quality=78, method=6)
                header.append(f"{style or 'default'} · {NAMES[language]}")
                row.append(f"![{template.id} {style or ''} {language}](templates/{name})")
                print(name, flush=True)
        per_row = 4 if height >= width else 2
        for start in range(0, len(row), per_row):
            lines += ["| " + " | ".join(header[start:start + per_row]) + " |",
                      "|" + "---|" * len(header[start:start + per_row]),
                      "| " + " | ".join(row[start:start + per_row]) + " |", ""]
    lines += scripts_section()
    PAGE.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scripts_section() -> list[str]:
    """A row per script (and one of emoji) with a template of each category set in it."""
    catalog = load_catalog()
    lines = ["## Every script learners write, and emoji", "",
             "One template of each category with its sample text in Bengali, Gujarati, Punjabi (Gurmukhi), Kannada, "
             "Malayalam, Odia and Urdu (Noto Sans fonts, and Amiri, a Naskh, for Urdu; shaped by raqm; Urdu right to "
             "left with its Latin word and digits in reading order), and in English with emoji (drawn in colour "
             f"from Twemoji's pictures, CC-BY 4.0, at the text's size). Reduced to {SCRIPT_SIDE} px.", "",
             "| Script | " + " | ".join(f"{c.replace('_', ' ')} (`{t}`)" for c, t in BY_CATEGORY.items()) + " |",
             "|---|" + "---|" * len(BY_CATEGORY)]
    for language, name in SCRIPT_NAMES.items():
        row = [name]
        for template_id in BY_CATEGORY.values():
            template = catalog.get(template_id)
            style = samples.styles(template)[0]
            values = samples.variables(template, style, language)
            generation_id = uuid.uuid5(uuid.NAMESPACE_URL, f"studio-ledger:{template.id}:{style}:{language}")
            image = samples.render(template, values, generation_id).image
            image.thumbnail((SCRIPT_SIDE, SCRIPT_SIDE))
            file = f"{slug(template.id, style, language)}.webp"
            image.save(OUT / file, format="WEBP", quality=72, method=6)
            row.append(f"![{template.id} in {name}](templates/{file})")
            print(file, flush=True)
        lines.append("| " + " | ".join(row) + " |")
    return [*lines, ""]


if __name__ == "__main__":
    main()
