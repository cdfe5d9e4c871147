from __future__ import annotations

import uuid

import pytest
from django.template import engines
from django.test import override_settings
from django.urls import NoReverseMatch, path, reverse

from hygie.web.templatetags import urls_memo


def _render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.fixture(autouse=True)
def _empty_memo():
    urls_memo._memo.clear()
    yield
    urls_memo._memo.clear()


def test_every_template_gets_the_remembering_tag_with_the_same_answers():
    sheet = uuid.uuid4()
    source = "{% url 'dashboard' %}|{% url 'care_sheet_edit' sheet %}|{% url 'care_sheet_edit' public_id=sheet %}"
    expected = "|".join([reverse("dashboard"), reverse("care_sheet_edit", args=[sheet]),
                         reverse("care_sheet_edit", kwargs={"public_id": sheet})])
    assert _render(source, sheet=sheet) == expected
    assert len(urls_memo._memo) == 3
    assert _render(source, sheet=sheet) == expected  # from memory now
    other = uuid.uuid4()
    assert _render("{% url 'care_sheet_edit' sheet %}", sheet=other) == reverse("care_sheet_edit", args=[other])


def test_as_variable_escaping_and_errors_as_django_s_tag():
    assert _render("{% url 'dashboard' as home %}[{{ home }}]") == f"[{reverse('dashboard')}]"
    assert _render("{% url 'no-such-page' as nowhere %}[{{ nowhere }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        _render("{% url 'no-such-page' %}")
    with pytest.raises(NoReverseMatch):
        _render("{% url 'care_sheet_edit' 'not-a-uuid' %}")
    assert not any(key[0] == "no-such-page" for key in urls_memo._memo)


def _page(request):  # pragma: no cover - only reversed
    raise AssertionError


urlpatterns = [path("ailleurs/", _page, name="dashboard")]


def test_another_urlconf_gets_its_own_answers():
    assert _render("{% url 'dashboard' %}") == "/"
    with override_settings(ROOT_URLCONF=__name__):
        assert _render("{% url 'dashboard' %}") == "/ailleurs/"
    assert _render("{% url 'dashboard' %}") == "/"
