"""Django's `i18n` template library with `{% translate "…" %}` of a literal remembered per
process and language (settings.TEMPLATES maps `{% load i18n %}` here).

A page renders some 70 literal `{% translate %}`; each went through gettext's per-thread
language lookups and the escaping again, about 9 % of a page's template time. The result of a
literal depends on the language, the text and the escaping only, so those make the key. A
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


class MemoTranslateNode(i18n.TranslateNode):
    def render(self, context: Any) -> str:
        var = self.filter_expression.var
        literal = getattr(var, "literal", None)
        if self.message_context or self.filter_expression.filters or not isinstance(literal, str):
            return str(super().render(context))
        key = (translation.get_language(), literal, self.noop, context.autoescape)
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


def _forget(setting: str, **_kwargs: Any) -> None:
    # Tests that change the languages or the catalogues: Django resets its translations too.
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "INSTALLED_APPS"}:
        _memo.clear()


setting_changed.connect(_forget)
