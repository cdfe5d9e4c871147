"""Form pieces shared by the domain apps: people picked by public id, French dates, and how a
refused action is shown on its form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from hygie.lib.text import fold

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]


def show_refusal(form: forms.BaseForm, exc: Exception) -> None:
    """Show a refused action on the form. ValidationError and ActionError messages are French
    and name no patient."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return
    for msg in getattr(exc, "messages", None) or [str(exc)]:
        form.add_error(None, msg)


class _SortedIterator(ModelChoiceIterator):
    # Names are encrypted at rest: sort them here, never with ORDER BY.
    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        objs = sorted(self.queryset, key=lambda o: fold(self.field.label_from_instance(o)))
        for obj in objs:
            yield self.choice(obj)


class NamedChoiceField(forms.ModelChoiceField):
    """A select of people chosen by public id (no internal id in the page), sorted by label."""

    iterator = _SortedIterator

    def __init__(self, queryset: Any, *, label_of: Any = None, **kwargs: Any) -> None:
        self._label_of = label_of or (lambda obj: obj.display_name)
        kwargs.setdefault("to_field_name", "public_id")
        kwargs.setdefault("empty_label", _("— choisir —"))
        kwargs.setdefault("error_messages", {"invalid_choice": _("Choix invalide : choisissez dans la liste.")})
        super().__init__(queryset, **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return str(self._label_of(obj))

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            # A malformed public id says the same as an unknown one.
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None


def date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Date invalide : utilisez le format JJ/MM/AAAA.")},
        **kwargs,
    )
