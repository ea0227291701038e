"""The template catalog: shipped files validate, variables are checked, rendering runs no code."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.templates import (
    CATALOG_DIR,
    TemplateError,
    UnknownTemplate,
    VariableError,
    load_catalog,
    load_template,
    parse_template,
)
from media.tomlfile import read_toml

pytestmark = pytest.mark.unit
SHIPPED = Path(__file__).parents[2] / "media" / "catalog"


def test_the_shipped_catalog_has_at_least_twelve_templates_in_the_four_categories() -> None:
    templates = load_catalog().all()
    assert len(templates) >= 12
    assert {t.category for t in templates} == {"profile_photo", "poster", "social_post", "teaser"}
    social = {t.aspect_ratio for t in templates if t.category == "social_post"}
    assert {"1:1", "4:5", "9:16"} <= social
    assert all(t.aspect_ratio == "16:9" for t in templates if t.category == "teaser")
    assert all(t.needs_input_image for t in templates if t.category == "profile_photo")


def test_an_unknown_template_is_a_lookup_error() -> None:
    with pytest.raises(UnknownTemplate, match="no-such"):
        load_catalog().get("no-such")
    assert issubclass(UnknownTemplate, LookupError)


def test_rendering_fills_validated_variables_and_defaults() -> None:
    template = load_catalog().get("poster-course-launch")
    prompt = template.render({"course": "  Python\tfor   Data ", "date": "May 3"})
    assert "a new course about Python for Data, minimal design" in prompt.text
    assert prompt.text.endswith("artwork only, no text, no letters, no words")
    assert prompt.negative == f"{template.negative_prompt}, text, letters, watermark"


def test_format_syntax_in_a_value_stays_text() -> None:
    template = load_catalog().get("poster-course-launch")
    prompt = template.render({"course": "{course.__class__.__mro__}", "date": "{0}"})
    assert "{course.__class__.__mro__}" in prompt.text
    assert template.render_caption({"course": "{course.__class__.__mro__}", "date": "{0}"}).endswith("· {0}")


@pytest.mark.parametrize(("variables", "field", "message"), [
    ({"date": "May 3"}, "course", "required"),
    ({"course": "x" * 61, "date": "May 3"}, "course", "at most 60"),
    ({"course": "Py", "date": "May 3", "style": "baroque"}, "style", "must be one of"),
    ({"course": "Py", "date": "May 3", "prompt": "ignore all that"}, "prompt", "not a variable"),
    ({"course": 42, "date": "May 3"}, "course", "must be text"),
])
def test_bad_variables_are_refused_naming_the_field(variables: dict[str, object], field: str, message: str) -> None:
    template = load_catalog().get("poster-course-launch")
    with pytest.raises(VariableError, match=message) as caught:
        template.validate_variables(variables, None)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_a_colour_variable_must_be_a_hex_colour() -> None:
    template = load_catalog().get("social-achievement")
    with pytest.raises(VariableError) as caught:
        template.validate_variables({"achievement": "SQL", "color": "red; drop"}, None)
    assert caught.value.field == "color"


def test_a_profile_photo_needs_an_input_image_and_others_refuse_one() -> None:
    catalog = load_catalog()
    with pytest.raises(VariableError) as caught:
        catalog.get("profile-professional").validate_variables({}, None)
    assert caught.value.field == "input_image_url"
    assert catalog.get("profile-professional").validate_variables({}, "https://cdn.example/me.jpg")["attire"]
    with pytest.raises(VariableError, match="takes no photo"):
        catalog.get("teaser-banner").validate_variables({"event": "E", "date": "D"}, "https://cdn.example/me.jpg")
    with pytest.raises(VariableError, match="http"):
        catalog.get("profile-avatar").validate_variables({}, "file:///etc/passwd")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def shipped_text(template_id: str) -> str:
    return (SHIPPED / f"{template_id}.toml").read_text()


def test_a_bad_template_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    write(tmp_path, "good.toml", shipped_text("teaser-banner"))
    bad = write(tmp_path, "bad.toml", shipped_text("poster-webinar").replace("cost = 5", "cost = -1"))
    with pytest.raises(TemplateError) as caught:
        load_catalog(tmp_path)
    assert str(bad) in str(caught.value) and "cost" in str(caught.value)


def test_a_placeholder_that_is_not_a_declared_variable_is_refused(tmp_path: Path) -> None:
    text = shipped_text("teaser-banner").replace("{style} design", "{secret} design")
    with pytest.raises(TemplateError, match="secret"):
        load_template(write(tmp_path, "t.toml", text))


def test_attribute_and_index_placeholders_are_refused(tmp_path: Path) -> None:
    text = shipped_text("teaser-banner").replace("{style} design", "{style.__class__} design")
    with pytest.raises(TemplateError, match="plain variable name"):
        load_template(write(tmp_path, "t.toml", text))


def test_a_broken_toml_file_and_a_duplicate_id_stop_the_load(tmp_path: Path) -> None:
    broken = write(tmp_path / "a", "broken.toml", "id = ")
    with pytest.raises(TemplateError, match=str(broken)):
        load_catalog(tmp_path / "a")
    write(tmp_path / "b", "one.toml", shipped_text("teaser-banner"))
    write(tmp_path / "b", "two.toml", shipped_text("teaser-banner"))
    with pytest.raises(TemplateError, match="already used"):
        load_catalog(tmp_path / "b")
    with pytest.raises(TemplateError, match="no template files"):
        load_catalog(tmp_path / "empty")


def test_every_shipped_template_speaks_hindi_on_the_studio_page() -> None:
    for template in load_catalog().all():
        assert template.title_in("hi") != template.title, template.id
        assert template.description_in("hi") != template.description, template.id
        for variable in template.variables:  # every field the learner sees has a Hindi label
            assert template.label_in(variable, "hi") != template.label_in(variable, "en"), (template.id, variable.name)
        assert template.title_in("ta") == template.title  # a language it has no words for: English


def test_a_translated_label_for_a_field_the_template_lacks_is_refused(tmp_path: Path) -> None:
    text = shipped_text("teaser-banner").replace('event = "इवेंट का नाम"', 'venue = "स्थान"')
    with pytest.raises(TemplateError, match=r"translations\.hi\.labels: \['venue'\] name no variable"):
        load_template(write(tmp_path, "t.toml", text))


def test_a_field_has_a_hint_in_each_language_and_english_where_none_is_given() -> None:
    fields = read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError)
    fields["variables"][0]["hint"] = "What the session is about"
    fields["translations"]["hi"]["hints"] = {"topic": "सत्र किस बारे में है"}
    template = parse_template(fields, where="webinar")
    topic, time = template.variables[:2]
    assert template.hint_in(topic, "en") == "What the session is about"
    assert template.hint_in(topic, "hi") == "सत्र किस बारे में है"
    assert template.hint_in(topic, "ta") == "What the session is about"
    assert template.hint_in(time, "hi") == ""


def test_a_translated_hint_for_a_field_the_template_lacks_is_refused_naming_it() -> None:
    fields = read_toml(CATALOG_DIR / "poster-webinar.toml", ValueError)
    fields["translations"]["hi"]["hints"] = {"venue": "कहाँ"}
    with pytest.raises(TemplateError) as refused:
        parse_template(fields, where="webinar")
    assert refused.value.problems == [("translations.hi.hints", "['venue'] name no variable")]
