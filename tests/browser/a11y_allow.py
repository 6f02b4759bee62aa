"""The one list of accessibility violations the axe step lets pass: each sits in Streamlit's own
markup, cannot be fixed from the app, and waits for the upstream issue named beside it. An entry
matches a violation by its axe rule and a CSS selector of the element; nothing else is allowed
(tests/browser/test_a11y.py). Keep it short, and remove an entry when its issue is fixed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Allowed:
    rule: str  # axe-core rule id
    selector: str  # matched with Element.matches() in the page
    upstream: str  # the framework's issue the fix waits for
    reason: str


ALLOWED: tuple[Allowed, ...] = ()
