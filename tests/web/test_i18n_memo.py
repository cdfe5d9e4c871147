from __future__ import annotations

import pytest
from django.template import Context, Engine, engines
from django.utils import translation

from hygie.web.templatetags import i18n_memo

SOURCES = [
    '{% load i18n %}{% translate "Patients" %}|{% translate "Agenda" %}|{% trans "Facturation" %}',
    '{% load i18n %}{% translate "Sécurité" as label %}[{{ label }}]',
    '{% load i18n %}{% translate "a < b & 100%% sûr" %}',
    '{% load i18n %}{% translate "Patients" noop %}',
    '{% load i18n %}{% translate word %}|{% translate "Patients"|upper %}|{% translate "mai" context "mois" %}',
    '{% load i18n %}{% autoescape off %}{% translate "x & y" %}{% endautoescape %}{% translate "x & y" %}',
    '{% load i18n %}{% blocktranslate count n=2 %}{{ n }} patient{% plural %}{{ n }} patients{% endblocktranslate %}',
    # The language is read once per rendering; {% language %} reads it afresh, inside and after.
    '{% load i18n %}{% translate "Tableau de bord" %}|{% language "en" %}{% translate "Tableau de bord" %}'
    '{% language "fr" %}/{% translate "Tableau de bord" %}{% endlanguage %}{% endlanguage %}|'
    '{% translate "Tableau de bord" %}',
]


@pytest.fixture(autouse=True)
def _empty_memo():
    i18n_memo._memo.clear()
    yield
    i18n_memo._memo.clear()


def _django_s_own(source: str, context: dict) -> str:
    return Engine(app_dirs=True, libraries={"i18n": "django.templatetags.i18n"}).from_string(source).render(
        Context(context))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_same_output_as_django_s_own_tag_in_each_language(language):
    context = {"word": "Agenda"}
    with translation.override(language):
        for source in SOURCES:
            ours = engines["django"].from_string(source)
            expected = _django_s_own(source, context)
            assert ours.render(context) == expected, source
            assert ours.render(context) == expected, source  # from memory now
    assert any(key[0] == language for key in i18n_memo._memo)


def test_languages_do_not_share_answers():
    source = '{% load i18n %}{% translate "Déconnexion" %}'
    with translation.override("fr"):
        french = engines["django"].from_string(source).render({})
    with translation.override("en"):
        english = engines["django"].from_string(source).render({})
        assert english == _django_s_own(source, {})
    assert french == "Déconnexion" and english != french


def test_the_language_is_read_once_per_rendering_and_afresh_in_language_blocks():
    source = ('{% load i18n %}{% translate "Tableau de bord" %}|{% language "en" %}{% translate "Tableau de bord" %}'
              '{% endlanguage %}|{% translate "Tableau de bord" %}')
    with translation.override("fr"):
        assert engines["django"].from_string(source).render({}) == "Tableau de bord|Dashboard|Tableau de bord"
    with translation.override("en"):
        assert engines["django"].from_string(source).render({}) == "Dashboard|Dashboard|Dashboard"

