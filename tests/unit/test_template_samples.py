"""A variable's sample is checked like any value, and every variable has an example that fits."""

from __future__ import annotations

import pytest

from media.templates import Variable, load_catalog

pytestmark = pytest.mark.unit


def test_a_sample_that_does_not_fit_its_variable_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 5 allowed"):
        Variable(name="title", max_length=5, sample="far too long")
    with pytest.raises(ValueError, match="must be one of"):
        Variable(name="style", type="choice", choices=("flat",), sample="round")


def test_the_example_is_the_sample_then_the_default_then_the_first_choice_then_the_label() -> None:
    assert Variable(name="t", sample="Intro to SQL", default="x").example() == "Intro to SQL"
    assert Variable(name="t", default="x").example() == "x"
    assert Variable(name="s", type="choice", choices=("neon", "flat")).example() == "neon"
    assert Variable(name="course_title", max_length=6).example() == "Course"


def test_every_example_in_the_catalog_is_accepted_by_its_template() -> None:
    for template in load_catalog().all():
        values = {v.name: v.example() for v in template.variables}
        assert template.validate_variables(values, "upload:sample" if template.needs_input_image else None) == values
