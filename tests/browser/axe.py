"""axe-core (WCAG 2.1 AA) on a page opened with Playwright.

`assert_accessible(page)` injects tests/axe/node_modules/axe-core/axe.min.js (installed by
scripts/system-deps.sh, `npm ci` in tests/axe) into the page as it stands, runs it on the rules
tagged WCAG 2.0/2.1 A and AA, and fails on every serious or critical violation, listing the
rule, its help text and the first offending elements. Minor and moderate findings are returned,
not asserted: a test may look at them.

The script is injected through Playwright (add_script_tag with its content), so Hygie's strict
CSP is not loosened for the test: Playwright evaluates it in the page's isolated context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def _axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"axe-core absent ({AXE}) : lancez `make system-deps` (npm ci dans tests/axe).")
    return AXE.read_text(encoding="utf-8")


def run_axe(page: Page, *, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """All violations axe finds on the page (every impact)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluate(), not add_script_tag(): a <script> element would be refused by the CSP.
        page.evaluate(_axe_source() + "\n;undefined")
    context: dict[str, Any] = {"exclude": [[s] for s in exclude or []]} if exclude else {}
    result = page.evaluate(
        "([context, tags]) => window.axe.run(Object.keys(context).length ? context : document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        [context, TAGS],
    )
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} élément(s) : {targets})")
    return "\n".join(lines)


def assert_accessible(page: Page, *, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """Fail on any serious or critical WCAG 2.1 AA violation; return the minor ones."""
    violations = run_axe(page, exclude=exclude)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe-core sur {page.url} :\n{describe(blocking)}"
    return [v for v in violations if v["impact"] not in BLOCKING]
