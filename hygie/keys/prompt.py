"""Unlock a process from the terminal (`hygie serve --unlock`, `hygie worker --unlock`) and
read passphrases for `hygie keys`.

getpass reads from the terminal (/dev/tty), not from standard input: for scripts and tests,
`--passphrase-stdin` (or a standard input that is not a terminal) reads one passphrase per line
from standard input instead.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.db import transaction

from hygie.audit import journal
from hygie.audit.events import Ev, Outcome
from hygie.keys import service
from hygie.lib import keyfile, passwords

ATTEMPTS = 3
PROMPT = "Phrase de passe du fichier de clés : "


def reads_stdin(opts: dict) -> bool:
    return bool(opts.get("passphrase_stdin")) or not sys.stdin.isatty()


def passphrases(*, from_stdin: bool, attempts: int = ATTEMPTS, prompt: str = PROMPT) -> Iterator[str]:
    """Up to `attempts` passphrases: typed without echo, or one per line of standard input."""
    for _ in range(attempts):
        if from_stdin:
            line = sys.stdin.readline()
            if not line:
                return
            yield line.rstrip("\r\n")
        else:
            try:
                yield getpass.getpass(prompt)
            except EOFError:
                return


def from_file(path: str) -> str:
    """The first line of a file (for scripts: --passphrase-file)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CommandError(f"Fichier de phrase de passe introuvable : {path}") from None
    except (OSError, UnicodeDecodeError):
        raise CommandError(f"Fichier de phrase de passe illisible : {path}") from None
    if not lines or not lines[0]:
        raise CommandError(f"Le fichier de phrase de passe est vide : {path}")
    return lines[0]


def current_passphrases(opts: dict, file_option: str = "passphrase_file") -> Iterable[str]:
    """The passphrase of the key file: from a file (one try), else typed or read from stdin."""
    if opts.get(file_option):
        return [from_file(opts[file_option])]
    return passphrases(from_stdin=reads_stdin(opts))


def new_passphrase(opts: dict, stderr: Any) -> str:
    """A new passphrase, strong enough (hygie.lib.passwords, the CNIL rule): from a file, from
    standard input, or typed twice."""
    if opts.get("passphrase_file"):
        chosen = from_file(opts["passphrase_file"])
    elif reads_stdin(opts):
        chosen = sys.stdin.readline().rstrip("\r\n")
    else:
        for _ in range(ATTEMPTS):
            first = getpass.getpass("Nouvelle phrase de passe : ")
            if getpass.getpass("Confirmez la phrase de passe : ") != first:
                stderr.write("Les deux saisies diffèrent, recommencez.")
                continue
            chosen = first
            break
        else:
            raise CommandError("Phrase de passe non saisie. Rien n'a été modifié.")
    problem = passwords.strength_problem(chosen)
    if problem:
        raise CommandError(f"Phrase de passe refusée. {problem} Rien n'a été modifié.")
    return chosen


def unlock_or_fail(source: Iterable[str], *, stderr: Any, role: str) -> None:
    """Unlock this process (3 tries at most), else CommandError (exit code 2).

    Each failure and the success are journalled (the database must be ready)."""
    for passphrase in source:
        try:
            service.unlock(passphrase)
        except keyfile.WrongPassphrase:
            stderr.write("Phrase de passe incorrecte.")
            with transaction.atomic():
                journal.record(
                    Ev.KEYS_UNLOCK_FAILED, outcome=Outcome.FAILURE, actor_role=role, details={"channel": "terminal"}
                )
            continue
        with transaction.atomic():
            journal.record(Ev.KEYS_UNLOCKED, actor_role=role, details={"channel": "terminal"})
        return
    raise CommandError(
        f"Déverrouillage impossible : phrase de passe incorrecte ou absente ({ATTEMPTS} essais au plus). "
        "Phrase de passe perdue : voir docs/operations.md, « Mode phrase de passe ».",
        returncode=2,
    )
