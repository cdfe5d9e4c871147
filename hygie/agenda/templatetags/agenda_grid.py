"""The cells of the agenda's grid, written in Python rather than by the template engine.

A practitioner's week has some 250 cells (7 days × one slot every 20 minutes); the template
spent about 5 ms of processor time per page on them (an `{% if %}` chain, a `{% translate %}`
and a `{% blocktranslate %}` per cell), the largest share of the agenda's cost (issue 14).
`{% agenda_cells row.cells can_edit can_open_record %}` writes the same markup: the texts are
translated once per page (the same msgids as before, so the catalogues still apply), every
value from the database or the user is escaped, and the links are those the template made.

What a cell shows (hygie.lib.agendagrid):
- `busy`: the appointments that start in the slot (time, duration, patient — a link to the record
  for whoever may open it —, code, reason, "Modifier" for whoever may edit), or « (suite) » when
  one that began earlier still runs;
- `free`: « libre », a link to the booking form for whoever may edit, with its full label for
  screen readers (day, time, practitioner);
- `past`: empty; `closed`: « fermé » for screen readers only.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()

_TEXTS = "hygie.agenda.cells.texts"


def _texts(context: Any) -> dict[str, str]:
    """The page's texts, translated and escaped once per rendering (render_context)."""
    texts = context.render_context.get(_TEXTS)
    if texts is None:
        texts = context.render_context[_TEXTS] = {
            "continued": escape(gettext("(suite)")),
            "edit": escape(gettext("Modifier")),
            "free": escape(gettext("libre")),
            "closed": escape(gettext("fermé")),
            # {% blocktranslate %} texts: the translation itself is not escaped, its values are.
            "minutes": gettext("%(n)s min"),
            "edit_label": gettext("le rendez-vous de %(t)s"),
            "book_label": gettext("réserver le %(day)s à %(t)s avec %(name)s"),
        }
    return texts


def _appointment(a: Any, texts: dict[str, str], can_edit: bool, can_open_record: bool) -> str:
    at = escape(formats.time_format(timezone.localtime(a.start), "H:i"))
    name = escape(a.patient.display_name)
    if can_open_record:
        name = f'<a href="{escape(reverse("patient_detail", args=[a.patient.public_id]))}">{name}</a>'
    parts = [
        '<div class="appt">',
        f'<span class="appt-time">{at} · {texts["minutes"] % {"n": escape(a.duration_minutes)}}</span>',
        name,
        f'<span class="code">{escape(a.patient.code)}</span>',
    ]
    if a.reason:
        parts.append(f'<span class="appt-reason">{escape(a.reason)}</span>')
    if can_edit:
        href = escape(reverse("appointment_edit", args=[a.public_id]))
        label = texts["edit_label"] % {"t": at}
        parts.append(f'<a class="appt-edit" href="{href}">{texts["edit"]}<span class="offscreen"> {label}</span></a>')
    parts.append("</div>")
    return "\n".join(parts)


@register.simple_tag(takes_context=True)
def agenda_cells(context: Any, row: Any, can_edit: bool, can_open_record: bool) -> SafeString:
    """The `<td>` of every cell of `row` (the view set `row.label`, and on each free cell
    `book_url` and `day_label`; on each cell `practitioner`)."""
    texts = _texts(context)
    out = []
    for cell in row.cells:
        state = cell.state
        if state == "busy":
            inner = [f'<span class="muted">{texts["continued"]}</span>'] if cell.continued else []
            inner += [_appointment(a, texts, can_edit, can_open_record) for a in cell.items]
            css = "slot busy continued" if cell.continued else "slot busy"
            out.append(f'<td class="{css}">' + "\n".join(inner) + "</td>")
        elif state == "free":
            if can_edit:
                who = escape(cell.practitioner.display_name)
                label = texts["book_label"] % {"day": escape(cell.day_label), "t": escape(row.label), "name": who}
                out.append(f'<td class="slot free"><a class="book" href="{escape(cell.book_url)}">{texts["free"]}'
                           f'<span class="offscreen"> — {label}</span></a></td>')
            else:
                out.append(f'<td class="slot free"><span class="muted">{texts["free"]}</span></td>')
        elif state == "past":
            out.append('<td class="slot past"></td>')
        else:
            out.append(f'<td class="slot closed"><span class="offscreen">{texts["closed"]}</span></td>')
    return mark_safe("\n".join(out))  # noqa: S308 (every value above is escaped)
