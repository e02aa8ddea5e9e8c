"""axe-core in the browser tests: every page and state must have zero violations.

axe is evaluated through the DevTools protocol, so the pages' strict CSP (no inline script) stays
on while it runs. All of axe's rules run except the experimental ones.
"""

import json
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "assets" / "axe.min.js"


@cache
def _source() -> str:
    return AXE.read_text()


def violations(page: Page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_source())
    result = page.evaluate("() => axe.run(document).then(r => r.violations)")
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
            "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
        }
        for v in result
    ]


def assert_clean(page: Page, where: str) -> None:
    found = violations(page)
    assert not found, f"axe violations on {where}:\n{json.dumps(found, indent=2)}"
