from django import template

from hygie.psc import config

register = template.Library()


@register.simple_tag
def psc_enabled() -> bool:
    """The PSC button shows only once the practice configured its client."""
    return config.enabled()
