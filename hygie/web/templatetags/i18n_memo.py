"""Django's `i18n` template library with `{% translate "…" %}` of a literal remembered per
process and language (settings.TEMPLATES maps `{% load i18n %}` here).

A page renders some 70 literal `{% translate %}`; each went through gettext's per-thread
language lookups and the escaping again, about 9 % of a page's template time. The result of a
literal depends on the language, the text and the escaping only, so those make the key; the
language is read once per rendering (`{% language %}` reads it afresh). A
`{% translate %}` of a variable, with filters or a context (`context "…"`) is Django's own tag,
untouched; so is everything else of the library (`blocktranslate`, `get_current_language`…)."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.signals import setting_changed
from django.template.base import render_value_in_context
from django.templatetags import i18n
from django.utils import translation
from django.utils.safestring import SafeData, mark_safe

register = template.Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)

_MAX = 20_000
_memo: dict[tuple[Any, ...], str] = {}


# The active language, read once per rendering and kept on its Context: each read of Django's
# (an asgiref Local) cost ~2 µs, 60 to 70 times a page. {% language %} forgets it (below).
_LANGUAGE = "_hygie_language"


def _language(context: Any) -> str:
    language = context.__dict__.get(_LANGUAGE)
    if language is None:
        language = context.__dict__[_LANGUAGE] = translation.get_language()
    return language


class MemoLanguageNode(i18n.LanguageNode):
    """Django's {% language %}: inside it, and after it, the active language is read afresh."""

    def render(self, context: Any) -> str:
        saved = context.__dict__.pop(_LANGUAGE, None)
        try:
            return str(super().render(context))
        finally:
            context.__dict__.pop(_LANGUAGE, None)
            if saved is not None:
                context.__dict__[_LANGUAGE] = saved


def _language_tag(parser: Any, token: Any) -> Any:
    node = i18n.language(parser, token)
    node.__class__ = MemoLanguageNode
    return node


class MemoTranslateNode(i18n.TranslateNode):
    def render(self, context: Any) -> str:
        var = self.filter_expression.var
        literal = getattr(var, "literal", None)
        if self.message_context or self.filter_expression.filters or not isinstance(literal, str):
            return str(super().render(context))
        key = (_language(context), literal, self.noop, context.autoescape)
        value = _memo.get(key)
        if value is None:
            # Django's own steps (TranslateNode.render), once.
            var.translate = not self.noop
            value = render_value_in_context(self.filter_expression.resolve(context), context)
            is_safe = isinstance(value, SafeData)
            value = value.replace("%%", "%")
            value = mark_safe(value) if is_safe else value  # noqa: S308 (Django's own: already safe)
            if len(_memo) >= _MAX:
                _memo.clear()
            _memo[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


def _translate(parser: Any, token: Any) -> Any:
    node = i18n.do_translate(parser, token)
    if type(node) is i18n.TranslateNode:
        node.__class__ = MemoTranslateNode
    return node


register.tag("translate", _translate)
register.tag("trans", _translate)
register.tag("language", _language_tag)


def _forget(setting: str, **_kwargs: Any) -> None:
    # Tests that change the languages or the catalogues: Django resets its translations too.
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _memo.clear()


setting_changed.connect(_forget)
