"""Playwright can drive Debian's Chromium: the smoke test that fails loudly, naming both versions, when it cannot
(pyproject.toml pins playwright to a release whose protocol that Chromium speaks)."""

from __future__ import annotations

import pytest

from web_e2e import harness


def test_playwright_drives_debian_chromium(browser, tmp_path):
    try:
        context = browser.new_context()
        page = context.new_page()
        page.set_content('<main><h1>Smoke</h1><label for="f">Field</label><input id="f">'
                         '<button type="button">Go</button></main>')
        page.get_by_label("Field").fill("typed")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent")
        typed = page.get_by_label("Field").input_value()
        picture = page.screenshot(path=str(tmp_path / "smoke.png"), full_page=True)
        context.close()
    except Exception as exc:        # noqa: BLE001 - a protocol mismatch can surface as any error
        pytest.fail(harness.mismatch(exc))
    assert (typed, focused) == ("typed", "Go")
    assert picture[:8] == b"\x89PNG\r\n\x1a\n"
    # The browser Playwright drives is Debian's, not a downloaded one.
    assert browser.version in harness.chromium_version(), (browser.version, harness.chromium_version())
