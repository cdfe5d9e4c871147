"""`hygie retention explain` prints the engine's decision for each case of the legal table."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.lib.test_retention import CASES


def _explain(*args: str) -> dict:
    out = io.StringIO()
    call_command("retention", "explain", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


# One hold at most on the command line; the CLI refuses dates in the future (the 2080 cases).
CLI_CASES = [c for c in CASES if len(c[4]) <= 1 and c[1] < "2025" and c[2] < "2025"]


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c[0])
def test_it_explains_each_case_of_the_table(case) -> None:
    _, birth, last, death, holds, expected, rule = case
    args = ["--birth", birth, "--last-visit", last]
    if death:
        args += ["--death", death]
    for start, end in holds:
        args += ["--hold-from", start] + (["--hold-to", end] if end else [])
    doc = _explain(*args)
    assert doc["expires"] == expected
    assert doc["rule"] == rule
    assert set(doc) == {"expires", "rule", "explanation"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--birth", "2000-01-01", "--last-visit", "2010-01-01", "--death", "1990-01-01"],
         "précéder la date de naissance"),
        (["--birth", "2000-01-01", "--last-visit", "2999-01-01"], "dans le futur"),
        (["--birth", "2000-01-01", "--last-visit", "2010-02-30"], "date illisible ou impossible"),
        (["--birth", "2000-01-01", "--last-visit", "2010-01-01",
          "--hold-from", "2012-01-02", "--hold-to", "2012-01-01"], "fin de la suspension"),
        (["--birth", "2000-01-01", "--last-visit", "2010-01-01", "--hold-to", "2012-01-01"], "demande --hold-from"),
    ],
)
def test_it_refuses_impossible_dates_in_french(args, message) -> None:
    with pytest.raises(CommandError, match=message):
        _explain(*args)


def test_the_real_command_prints_json_and_fails_cleanly(tmp_path) -> None:
    env = {**os.environ, "HYGIE_DATA_DIR": str(tmp_path / "var"), "HYGIE_KEY_FILE": str(tmp_path / "keys.json")}
    hygie = [sys.executable, "-m", "hygie.cli"]
    done = subprocess.run(
        [*hygie, "retention", "explain", "--birth", "01/06/2000", "--last-visit", "01/06/2002", "--json"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["expires"] == "2028-06-01"
    bad = subprocess.run(
        [*hygie, "retention", "explain", "--birth", "2000-01-01", "--last-visit", "2010-01-01",
         "--death", "1999-01-01"],
        capture_output=True, text=True, env=env, check=False,
    )
    assert bad.returncode == 1
    assert "La date de décès ne peut pas précéder la date de naissance." in bad.stderr
    assert "Traceback" not in bad.stderr
