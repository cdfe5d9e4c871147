"""Django's `{% url %}`, its answers remembered per process (installed as a template builtin in
settings.TEMPLATES, so every template gets it in place of the default one).

A page reverses 20 to 40 URLs (the navigation on every page, the links of each row), each ~25 µs
of Django's URL matching: about 5 % of a page's processor time. `reverse` answers the same for
the same name, arguments, application namespace, URLconf and script prefix, so those make the
key. Arguments enter the key with their type, in case a converter ever tells them apart.
Everything else is Django's own tag: the same parsing, the same NoReverseMatch, `as var`, the
same escaping."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.template import defaulttags
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

_MAX = 20_000
_memo: dict[tuple[Any, ...], str] = {}


def _key(value: Any) -> tuple[str, str]:
    return type(value).__name__, str(value)


class MemoURLNode(defaulttags.URLNode):
    def render(self, context: Any) -> str:
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        key = (view_name, tuple(map(_key, args)), tuple(sorted((k, _key(v)) for k, v in kwargs.items())),
               current_app, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
        url = _memo.get(key)
        if url is None:
            url = ""
            try:
                url = reverse(view_name, args=args, kwargs=kwargs, current_app=current_app)
            except NoReverseMatch:
                if self.asvar is None:
                    raise
            else:
                if len(_memo) >= _MAX:
                    _memo.clear()
                _memo[key] = url
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: Any, token: Any) -> MemoURLNode:
    node = defaulttags.url(parser, token)
    node.__class__ = MemoURLNode
    return node


def _forget(setting: str, **_kwargs: Any) -> None:
    # Tests that swap URLconfs: Django clears its own URL caches on the same signal.
    if setting == "ROOT_URLCONF":
        _memo.clear()


setting_changed.connect(_forget)
