"""Sample variables for every template in English, Hindi and every other script learners write (and English with
emoji), and rendering them as the local model and the compositor would: used by the template gallery
(docs/templates.md), the tests and the benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from media.compositor.compose import Composed, compose
from media.models.local import draw
from media.ports import ImageRequest
from media.templates import Template
from media.text import clusters

SAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "docs" / "templates" / "portrait.jpg"  # NASA, public domain
LANGUAGES = ("en", "hi", "ta", "te", "bn", "gu", "pa", "kn", "ml", "or", "ur", "emoji")
SAMPLES: dict[str, dict[str, dict[str, str]]] = {
    "poster-course-launch": {"en": {"course": "Python for Data Analysis", "date": "3 May 2026"},
                             "hi": {"course": "डेटा विश्लेषण के लिए पायथन", "date": "3 मई 2026"}},
    "poster-motivational": {"en": {"quote": "Small steps every day add up to big results"},
                            "hi": {"quote": "हर दिन के छोटे कदम बड़े नतीजे लाते हैं"}},
    "poster-webinar": {"en": {"topic": "Personal finance for freelancers", "time": "Sat 7 pm IST"},
                       "hi": {"topic": "फ्रीलांसरों के लिए निजी वित्त", "time": "शनिवार शाम 7 बजे"}},
    "profile-artistic": {"en": {}, "hi": {}},
    "profile-avatar": {"en": {"color": "#22c55e"}, "hi": {"color": "#f97316"}},
    "profile-professional": {"en": {"name": "Asha Verma", "attire": "smart casual"},
                             "hi": {"name": "आशा वर्मा", "attire": "smart casual"}},
    "social-achievement": {"en": {"achievement": "Completed Excel Mastery", "color": "#f59e0b"},
                           "hi": {"achievement": "एक्सेल मास्टरी पूरी की", "color": "#f59e0b"}},
    "social-announcement": {"en": {"headline": "Enrolments open for the summer batch"},
                            "hi": {"headline": "समर बैच के लिए नामांकन शुरू"}},
    "social-story": {"en": {"offer": "50% off every course this week"},
                     "hi": {"offer": "इस हफ़्ते हर कोर्स पर 50% छूट"}},
    "social-tip": {"en": {"tip": "Name your files by date first: 2026-05-03-report.xlsx sorts itself",
                          "subject": "Excel tip"},
                   "hi": {"tip": "फ़ाइल का नाम तारीख से शुरू करें, वे अपने आप क्रम में रहेंगी",
                          "subject": "एक्सेल टिप"}},
    "teaser-banner": {"en": {"event": "Data Day Delhi", "date": "Sunday 12 July"},
                      "hi": {"event": "डेटा डे दिल्ली", "date": "रविवार 12 जुलाई"}},
    "teaser-thumbnail": {"en": {"title": "Learn SQL in 10 minutes"},
                         "hi": {"title": "10 मिनट में SQL सीखें"}},
    "teaser-trailer": {"en": {"subject": "Machine learning basics"},
                       "hi": {"subject": "मशीन लर्निंग की बुनियाद"}},
}
PHRASES = {"ta": ("இன்றே புதிதாகக் கற்றுக்கொள்ளுங்கள்", "மே 3"), "te": ("ఈరోజే కొత్తగా నేర్చుకోండి", "మే 3"),
           "bn": ("আজই নতুন কিছু শিখুন: বিদ্যা, ক্ষমতা", "৩ মে"),
           "gu": ("આજે જ કંઈક નવું શીખો: વિદ્યા, ક્ષમતા", "૩ મે"),
           "pa": ("ਅੱਜ ਹੀ ਕੁਝ ਨਵਾਂ ਸਿੱਖੋ: ਪ੍ਰੀਤ, ਸ੍ਰੀ", "੩ ਮਈ"),
           "kn": ("ಇಂದೇ ಹೊಸದನ್ನು ಕಲಿಯಿರಿ: ವಿದ್ಯಾ, ಕ್ಷಮೆ", "ಮೇ 3"),
           "ml": ("ഇന്ന് തന്നെ പുതിയത് പഠിക്കൂ: വിദ്യ, ക്ഷമ", "മേയ് 3"),
           "or": ("ଆଜି ହିଁ କିଛି ନୂଆ ଶିଖନ୍ତୁ: ବିଦ୍ୟା, କ୍ଷମା", "୩ ମଇ"),
           "ur": ("آج ہی کچھ نیا سیکھیں: Python کورس 2026", "3 مئی"),
           # what learners put on social posts: emoji, sequences (a ZWJ family, a skin tone), a flag, a keycap
           "emoji": ("🎉 Diwali offer: 30% off 🔥 Last 3 seats 👩\u200d👩\u200d👧 👍🏽", "📅 3 May 🇮🇳 #️⃣")}
# each language's script, as the compositor names it
SCRIPTS = {"en": "latin", "hi": "devanagari", "ta": "tamil", "te": "telugu", "bn": "bengali", "gu": "gujarati",
           "pa": "gurmukhi", "kn": "kannada", "ml": "malayalam", "or": "oriya", "ur": "arabic", "emoji": "latin"}


def sample(template: Template, language: str) -> dict[str, str]:
    """Variables for ``template`` in ``language`` (languages without written samples put one phrase in every text
    variable, cut to its length in the characters a learner counts)."""
    if language in SAMPLES.get(template.id, {}):
        return dict(SAMPLES[template.id][language])
    phrase, short = PHRASES.get(language, ("Learn something new today", "3 May"))
    values = {}
    for variable in template.variables:
        if variable.type == "text":
            text = phrase if variable.max_length >= 40 else short
            values[variable.name] = "".join(clusters(text)[: variable.max_length]).strip()
    return values


def styles(template: Template) -> list[str | None]:
    """Each choice of the template's style variable, or [None] when it has none."""
    name = template.layout.style_variable
    spec = next((v for v in template.variables if v.name == name), None)
    return list(spec.choices) if spec is not None else [None]


Case = tuple[Template, str | None, str]


def cases(templates: list[Template], languages: tuple[str, ...] = ("en", "hi")) -> Iterator[Case]:
    """Every template x style x language."""
    for template in templates:
        for style in styles(template):
            for language in languages:
                yield template, style, language


def variables(template: Template, style: str | None, language: str) -> dict[str, str]:
    """The sample variables with the style variable set to ``style``."""
    values = sample(template, language)
    if style is not None and template.layout.style_variable:
        values[template.layout.style_variable] = style
    return values


def request(template: Template, values: dict[str, Any], generation_id: uuid.UUID, photo: str | None = None
            ) -> ImageRequest:
    """The request the worker would make for these variables (seeded by the generation id, as the worker does)."""
    clean = template.clean(values)
    return ImageRequest(generation_id=str(generation_id), prompt=template.render(values), model=template.model,
                        aspect_ratio=template.aspect_ratio, seed=generation_id.int % 2**31, input_image=photo,
                        caption=template.render_caption(values), palette=template.palette,
                        category=template.category, style=template.layout.style_for(clean),
                        tint=template.layout.tint_for(clean))


def render(template: Template, values: dict[str, Any], generation_id: uuid.UUID, *, scale: float = 1.0) -> Composed:
    """Artwork from the local model (the sample photo for a profile template), with the text set on it."""
    import io

    photo = SAMPLE_PHOTO.read_bytes() if template.needs_input_image else None
    ask = request(template, values, generation_id, "/media/sample.jpg" if photo else None)
    with Image.open(io.BytesIO(draw(ask, scale, photo))) as art:
        art.load()
        return compose(art, template, values)
