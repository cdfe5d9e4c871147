"""The password rule: the CNIL's shape (délibération 2022-100) and a guessing estimate.

A password is accepted when it passes three checks:

1. The CNIL's shape for a password used alone (about 80 bits):
   - 12 characters or more, with upper case, lower case, digits and special characters;
   - 14 characters or more, with upper case, lower case and digits;
   - a passphrase of 7 words or more. A word counts only if it is real: at least
     PASSPHRASE_MIN_LETTERS letters, not a stop word (« le », « the »…), not a word of the
     context (« Hygie », the practice, the user), not a run of one or two letters, and each
     counted word only once. « le la de un et ou si » is not a passphrase.
2. Nothing personal: the login, first or last name, or birth date (CNIL, same text).
3. Not guessable: the shape alone lets « Password1234! » or « Azerty123456! » through. zxcvbn
   (Dropbox's estimator, Python port) estimates how many guesses an attacker who knows common
   passwords, dictionaries, keyboard walks, repetitions, sequences and dates needs. Hygie adds
   what zxcvbn lacks for France: the AZERTY keyboard, common French passwords
   (data/common_passwords_fr.txt, provenance in the file) and French words (the French diceware
   list of the `diceware` package), and the words of the context. A password must need at
   least 10^MIN_GUESSES_LOG10 guesses (above zxcvbn's top score, « very unguessable »); a passphrase
   is estimated word by word (zxcvbn is blind to word separators) and its words must together
   need 10^MIN_PASSPHRASE_GUESSES_LOG10 guesses.

A refused password gets its reasons in French and a suggested passphrase of 7 French words.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from hygie.lib.text import compact, fold

_WORD_SPLIT = re.compile(r"[\s\-_.,;:/+!?*'’\"()]+")

# A passphrase word has at least this many letters (the CNIL counts words; « si » or « ou »
# add almost nothing to the guessing work).
PASSPHRASE_MIN_LETTERS = 4
PASSPHRASE_MIN_WORDS = 7  # CNIL délibération 2022-100
# zxcvbn's score 4 starts at 10^10 guesses (« strong protection from offline slow-hash
# attacks »); one order more, since the CNIL asks 80 bits of a password used alone: zxcvbn
# rates a random string of n characters 10^n guesses, so this is « as hard as 11 random ones ».
MIN_GUESSES_LOG10 = 11.0
# Seven words from a 7,776-word list need 10^27 guesses; seven common words about 10^20. Below
# that, the words are too common or too few to stand in for the character rule.
MIN_PASSPHRASE_GUESSES_LOG10 = 20.0
# Words of a suggested passphrase.
SUGGESTED_WORDS = 7

# Short grammar words (French and English) that never count as passphrase words.
STOP_WORDS = frozenset(
    """
    avec sans sous dans pour mais donc elle elles nous vous leur leurs notre votre cette ceux celle
    celui tout tous toute toutes comme aussi bien tres plus moins etre avoir fait faire sont etait
    quand quoi dont cela ceci chez entre vers voici voila alors ainsi encore jamais rien
    the and with this that from have were been they them their your what when where which will
    would there then than into over also just very some such each only other about
    """.split()
)

CONTEXT_WORDS = ("hygie",)


@dataclass(frozen=True)
class Personal:
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    birth_date: date | None = None
    # Words of the context an attacker would try first: the practice's name (« Hygie » always).
    context: tuple[str, ...] = field(default=())

    def words(self) -> list[str]:
        """The context words, folded, for the estimator and the passphrase rule."""
        found: list[str] = list(CONTEXT_WORDS)
        for value in (self.username, self.first_name, self.last_name, *self.context):
            folded = fold(value)
            parts = [p for p in re.split(r"[^a-z0-9]+", folded) if len(p) >= 3]
            found += parts
            if len(parts) > 1:
                found.append("".join(parts))
        return list(dict.fromkeys(found))


# --- zxcvbn, with what it lacks for France ------------------------------------------------

_AZERTY_ROWS = (
    # (first column, keys as "unshifted shifted" pairs), ISO AZERTY as sold in France.
    (1, ["&1", "é2", '"3', "'4", "(5", "-6", "è7", "_8", "ç9", "à0", ")°", "=+"]),
    (1, ["aA", "zZ", "eE", "rR", "tT", "yY", "uU", "iI", "oO", "pP", "^¨", "$£"]),
    (1, ["qQ", "sS", "dD", "fF", "gG", "hH", "jJ", "kK", "lL", "mM", "ù%", "*µ"]),
    (1, ["wW", "xX", "cC", "vV", "bB", "nN", ",?", ";.", ":/", "!§"]),
)


def _azerty_graph() -> dict[str, list[str | None]]:
    """zxcvbn's adjacency graph for AZERTY, built as zxcvbn builds its QWERTY graph: for a
    slanted keyboard the neighbours of (x, y) are, in order, left, upper-left, upper-right,
    right, lower-right, lower-left."""
    position: dict[tuple[int, int], str] = {}
    for y, (start, keys) in enumerate(_AZERTY_ROWS):
        for i, key in enumerate(keys):
            position[(start + i, y)] = key
    graph: dict[str, list[str | None]] = {}
    for (x, y), key in position.items():
        around = [(x - 1, y), (x, y - 1), (x + 1, y - 1), (x + 1, y), (x, y + 1), (x - 1, y + 1)]
        neighbours = [position.get(p) for p in around]
        for char in key:
            graph[char] = neighbours
    return graph


def _read_list(package: str, name: str) -> list[str]:
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def french_words() -> tuple[str, ...]:
    """The 7,776 words of the French diceware list (`diceware` package, GPL-3.0): real words of
    4 letters or more for most, used to suggest passphrases and as a dictionary for zxcvbn."""
    lines = _read_list("diceware", "wordlists/wordlist_fr.txt")
    return tuple(line.split()[-1] for line in lines)


@cache
def _extend_zxcvbn() -> None:
    # zxcvbn is imported here, at the first estimate, not with this module: every `hygie` process
    # imports this one at start-up (the exchange app's entry in the register of processing
    # activities), and zxcvbn builds its ranked dictionaries when imported: 27 ms of processor
    # time (perf stat, `import zxcvbn` against `import json`), 47 ms by -X importtime, in every
    # process, also those that never estimate a password (a restore and its helper process).
    from zxcvbn import matching  # type: ignore[import-untyped]

    # zxcvbn keeps its dictionaries and keyboard graphs in module-level tables that every call
    # reads: extending them once, at first use, is the library's own extension point.
    common = [fold(w) for w in _read_list("hygie.lib", "data/common_passwords_fr.txt")]
    matching.RANKED_DICTIONARIES["fr_passwords"] = {w: rank for rank, w in enumerate(common, 1)}
    words = french_words()
    # The list has no frequency order: every word costs an attacker the size of the list.
    matching.RANKED_DICTIONARIES["fr_words"] = dict.fromkeys((fold(w) for w in words), len(words))
    matching.GRAPHS["azerty"] = _azerty_graph()


@dataclass(frozen=True)
class Estimate:
    guesses_log10: float
    patterns: frozenset[str]  # what made it guessable, see _REASONS


def _patterns(result: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for match in result["sequence"]:
        kind = match["pattern"]
        token = str(match.get("token", "")).casefold()
        if kind != "bruteforce" and len(token) >= 4 and len(set(token)) <= 2:
            found.add("repeat")  # « Aaaaaaaaaa » is also a film title in zxcvbn's lists
        elif kind == "dictionary":
            name = match.get("dictionary_name", "")
            if name == "user_inputs":
                found.add("context")
            elif name in {"passwords", "fr_passwords"}:
                found.add("common")
            else:
                found.add("words")
        elif kind in {"spatial", "repeat", "sequence", "date"}:
            found.add(kind)
        elif kind == "regex":
            found.add("date")  # zxcvbn's only regex: recent years
    return found


def estimate(password: str, context: list[str] | None = None) -> Estimate:
    """How many guesses (log10) an informed attacker needs, and which patterns helped."""
    from zxcvbn import zxcvbn

    _extend_zxcvbn()
    inputs = context if context is not None else list(CONTEXT_WORDS)
    words = passphrase_words(password, inputs)
    if len(words) >= PASSPHRASE_MIN_WORDS:
        # Word by word: each real word must be guessed; separators add little.
        total, patterns = 0.0, set()
        for word in words:
            result = zxcvbn(word[:100], user_inputs=inputs)
            total += float(result["guesses_log10"])
            patterns |= _patterns(result)
        return Estimate(total, frozenset(patterns))
    # zxcvbn is quadratic in the length: what lies beyond 100 characters only adds strength.
    result = zxcvbn(password[:100], user_inputs=inputs)
    guesses, patterns = float(result["guesses_log10"]), _patterns(result)
    # A context word gives an attacker nothing to guess: what is left must be strong enough.
    words = sorted((w for w in inputs if len(w) >= 3), key=len, reverse=True)
    stripped = re.sub("|".join(re.escape(w) for w in words), "", password[:100], flags=re.I) if words else password
    if stripped != password[:100]:
        rest: dict[str, Any] = (
            zxcvbn(stripped, user_inputs=inputs) if stripped else {"guesses_log10": 0.0, "sequence": []}
        )
        if float(rest["guesses_log10"]) < guesses:
            guesses, patterns = float(rest["guesses_log10"]), _patterns(rest) | {"context"}
    return Estimate(guesses, frozenset(patterns))


# --- The rule ------------------------------------------------------------------------------


def character_classes(password: str) -> int:
    classes = 0
    classes += any(c.islower() for c in password)
    classes += any(c.isupper() for c in password)
    classes += any(c.isdigit() for c in password)
    classes += any(not c.isalnum() for c in password)
    return classes


def passphrase_words(password: str, context: list[str] | None = None) -> list[str]:
    """The words that count for a passphrase, folded, each once (see the module's docstring)."""
    excluded = set(context if context is not None else CONTEXT_WORDS)
    counted: list[str] = []
    for raw in _WORD_SPLIT.split(password.strip()):
        word = fold(raw)
        if (
            len(word) >= PASSPHRASE_MIN_LETTERS
            and word.isalpha()
            and len(set(word)) >= 3
            and word not in STOP_WORDS
            and word not in excluded
            and word not in counted
        ):
            counted.append(word)
    return counted


def is_passphrase(password: str, context: list[str] | None = None) -> bool:
    return len(passphrase_words(password, context)) >= PASSPHRASE_MIN_WORDS


def shape_problem(password: str, context: list[str] | None = None) -> str | None:
    """None when the password has the shape the CNIL asks for, else the French reason."""
    if is_passphrase(password, context):
        return None
    n = len(password)
    if n >= 12 and character_classes(password) == 4:
        return None
    if n >= 14 and _has_upper_lower_digit(password):
        return None
    return (
        "Le mot de passe est trop faible. Choisissez au moins 12 caractères avec majuscules, "
        "minuscules, chiffres et caractères spéciaux, ou au moins 14 caractères avec majuscules, "
        "minuscules et chiffres, ou une phrase de passe d'au moins 7 vrais mots de 4 lettres ou "
        "plus (« le », « de », « et » ne comptent pas)."
    )


_REASONS = {
    "common": "il ressemble à un mot de passe très courant (« azerty », « motdepasse », « soleil »…)",
    "context": "il contient « Hygie », le nom du cabinet ou votre nom",
    "spatial": "il suit les touches du clavier (« azerty », « qsdf », « 1234 »…)",
    "repeat": "il répète les mêmes caractères",
    "sequence": "il contient une suite (« abcd », « 1234 »…)",
    "date": "il contient une date ou une année",
    "words": "il est fait de mots courants, faciles à deviner",
}
_REASON_ORDER = ("common", "context", "spatial", "repeat", "sequence", "date", "words")


def guessable_problem(password: str, context: list[str] | None = None) -> str | None:
    """None when an informed attacker would need enough guesses, else the French reason."""
    found = estimate(password, context)
    threshold = MIN_PASSPHRASE_GUESSES_LOG10 if is_passphrase(password, context) else MIN_GUESSES_LOG10
    if found.guesses_log10 >= threshold:
        return None
    reasons = [_REASONS[p] for p in _REASON_ORDER if p in found.patterns]
    why = " ; ".join(reasons) if reasons else "il est trop court ou trop simple"
    return f"Le mot de passe est trop facile à deviner : {why}."


def strength_problem(password: str, context: list[str] | None = None) -> str | None:
    """The CNIL shape, then the guessing estimate: None when both pass, else the reason."""
    return shape_problem(password, context) or guessable_problem(password, context)


def _has_upper_lower_digit(password: str) -> bool:
    return (
        any(c.islower() for c in password)
        and any(c.isupper() for c in password)
        and any(c.isdigit() for c in password)
    )


def personal_problem(password: str, who: Personal) -> str | None:
    """None when the password contains nothing personal, else the French reason."""
    haystack = compact(password)
    for label, value in (
        ("votre identifiant", who.username),
        ("votre prénom", who.first_name),
        ("votre nom", who.last_name),
    ):
        for part in fold(value).split(" "):
            if len(part) >= 3 and part in haystack:
                return f"Le mot de passe ne doit pas contenir {label}."
    if who.birth_date:
        digits = re.sub(r"\D", "", password)
        d = who.birth_date
        forms = {
            f"{d:%d%m%Y}",
            f"{d:%Y%m%d}",
            f"{d:%d%m%y}",
            f"{d:%y%m%d}",
            f"{d:%m%d%Y}",
        }
        if any(form in digits for form in forms) or str(d.year) in digits and f"{d:%d%m}" in digits:
            return "Le mot de passe ne doit pas contenir votre date de naissance."
    return None


def suggest_passphrase(words: int = SUGGESTED_WORDS) -> str:
    """A random passphrase of French words (about 12.9 bits each), joined by hyphens."""
    vocabulary = [w for w in french_words() if len(w) >= PASSPHRASE_MIN_LETTERS and w.isalpha()]
    while True:
        chosen = [secrets.choice(vocabulary) for _ in range(words)]
        if len(set(chosen)) == words:
            return "-".join(chosen)


def suggestion(passphrase: str) -> str:
    bits = round(len(passphrase.split("-")) * math.log2(len(french_words())))
    return (
        f"Une phrase de passe est plus facile à retenir, par exemple « {passphrase} » "
        f"(7 mots tirés au hasard, environ {bits} bits ; choisissez-en une à vous, sans la noter "
        "près de l'ordinateur)."
    )


def problems(password: str, who: Personal, *, suggest: bool = True) -> list[str]:
    """Every reason to refuse the password, in French; with a suggested passphrase if any."""
    context = who.words()
    found = [shape_problem(password, context), personal_problem(password, who)]
    if not any(found):
        found.append(guessable_problem(password, context))
    reasons = [p for p in found if p]
    if reasons and suggest:
        reasons.append(suggestion(_passing_passphrase(who)))
    return reasons


def _passing_passphrase(who: Personal, tries: int = 20) -> str:
    """A suggested passphrase that this rule accepts for this person: a random word may be one of
    the context words (which do not count as passphrase words) or the phrase may be guessable."""
    candidate = suggest_passphrase()
    for _ in range(tries):
        if not problems(candidate, who, suggest=False):
            break
        candidate = suggest_passphrase()
    return candidate
