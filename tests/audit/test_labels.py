from hygie.audit.events import Ev, Outcome
from hygie.audit.labels import LABELS, OUTCOMES, action_label


def test_it_has_a_french_label_for_every_event_tag():
    assert set(LABELS) == set(Ev)
    assert set(OUTCOMES) == set(Outcome)


def test_it_shows_an_unknown_tag_as_is():
    assert action_label("future:thing:done") == "future:thing:done"
    assert action_label(Ev.BREAK_GLASS) == "Accès exceptionnel au dossier"
