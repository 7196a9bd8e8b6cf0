"""The report page in a real browser: Debian's headless Chromium, driven by Playwright, offline.

The page of the demo registry (tests/report_registry.py) is opened from disk with the network
off: no console error, no request but the file itself, every chart drawn with its title, one
table row per repository that sorts when a heading is clicked (and is there without script),
dark when the reader asks for dark, and a screenshot that is not blank. That screenshot is
docs/report.png: it records the hash of the page it shows, and this test fails when the page
has changed since (`ECRGEN_UPDATE_SCREENSHOT=1` writes the new one).

Chromium is the Debian package (`/usr/bin/chromium`); when it is missing, the session installs
it with apt-get, as root. This test never skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_ecrgen
from tests.fault_proxy import fault_proxy
from tests.report_registry import CONFIG, NOW, registry

__all__ = ["fault_proxy", "registry"]  # the fixtures, imported for pytest
CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("chromium", "chromium-driver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "docs" / "report.png"
PAGE_HASH_KEY = "ecrgen-report-sha256"  # the PNG's tEXt entry: the hash of the page it shows
CHARTS = ("storage", "age", "frees", "findings", "coverage")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing (one worker at a time)."""
    with open("/tmp/ecrgen-chromium.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.exists():
            if os.geteuid() != 0 or not shutil.which("apt-get"):
                pytest.fail(f"{CHROMIUM} is missing: install it as root with "
                            f"`apt-get install -y {' '.join(PACKAGES)}`")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            wait = ["-o", "DPkg::Lock::Timeout=600"]
            subprocess.run(["apt-get", *wait, "update", "-q"], check=True, env=env, timeout=900)
            subprocess.run(["apt-get", *wait, "install", "-y", "-q", *PACKAGES], check=True, env=env, timeout=1800)
    assert CHROMIUM.exists()
    return CHROMIUM


@pytest.fixture()
def browser(chromium: Path, tmp_path: Path) -> Iterator[Any]:
    """A fresh profile, offline, that records every request and console message of its pages."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(chromium), args=FLAGS, headless=True,
            offline=True, viewport={"width": 1280, "height": 1800})
        context.requests = []
        context.errors = []
        context.on("request", lambda request: context.requests.append(request.url))
        context.on("console", lambda m: context.errors.append(m.text) if m.type == "error" else None)
        context.on("weberror", lambda error: context.errors.append(str(error.error)))
        try:
            yield context
        finally:
            context.close()


def demo_page(tmp_path: Path) -> Path:
    page = tmp_path / "report.html"
    result = run_ecrgen("report", "--config", CONFIG.name, "--now", NOW, "--out", str(page), cwd=CONFIG.parent)
    assert result.returncode == 1, result.stderr  # one repository refuses DescribeImages
    return page


def test_the_page_works_offline_in_a_real_browser(registry: Any, browser: Any, tmp_path: Path) -> None:
    path = demo_page(tmp_path)
    page = browser.new_page()
    page.goto(path.as_uri())
    assert browser.errors == []
    assert browser.requests == [path.as_uri()]  # nothing but the file itself
    for key in CHARTS:
        svg = page.locator(f"svg#chart-{key}")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, key
        title = svg.locator(f"title#chart-{key}-title").text_content()
        assert title and title == page.locator(f"#section-{key} h2").text_content(), key
        assert svg.locator("rect.reactive").count() > 0, f"{key}: no bar drawn"

    rows = page.locator("#repository-table tbody tr")
    assert rows.count() == 8  # every repository read; shop-ecr-payments is listed as unreadable
    names = [rows.nth(i).locator("th").text_content() for i in range(8)]
    images = page.locator("#repository-table thead th", has_text="images").locator("button")
    images.click()
    ascending = [int(rows.nth(i).locator("td").nth(1).text_content().replace(",", "")) for i in range(8)]
    assert ascending == sorted(ascending) and ascending[0] == 12
    images.click()
    descending = [int(rows.nth(i).locator("td").nth(1).text_content().replace(",", "")) for i in range(8)]
    assert descending == sorted(ascending, reverse=True)
    page.locator("#repository-table thead th", has_text="repository").locator("button").click()
    assert [rows.nth(i).locator("th").text_content() for i in range(8)] == sorted(names)
    in_use = page.locator("#repository-table thead th", has_text="in use (at risk)").locator("button")
    in_use.click()
    in_use.click()  # descending: the repositories with images in use at risk first
    assert {rows.nth(i).locator("th").text_content() for i in range(3)} == {
        "shop-ecr-web", "shop-ecr-worker", "shop-ecr-reports"}
    assert page.locator("#at-risk tbody tr").count() == 3  # each image at risk, with who uses it
    assert browser.errors == []

    page.goto(path.as_uri())
    picture = page.screenshot()
    assert not blank(picture)
    check_screenshot(picture, path.read_bytes())

    page.emulate_media(color_scheme="dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    page.emulate_media(color_scheme="light", media="print")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"


def test_without_script_the_table_is_there_most_expensive_first(registry: Any, chromium: Path,
                                                                  tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = demo_page(tmp_path)
    document = json.loads(run_ecrgen("report", "--config", CONFIG.name, "--now", NOW, "--output", "json",
                                     cwd=CONFIG.parent).stdout)
    expected = [r["repositoryName"] for r in sorted(document["repositories"],
                                                     key=lambda r: (-r["monthlyCostUsd"], r["repositoryName"]))]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=FLAGS, headless=True)
        page = browser.new_page(java_script_enabled=False)
        page.goto(path.as_uri())
        rows = page.locator("#repository-table tbody tr th")
        assert [rows.nth(i).text_content() for i in range(rows.count())] == expected
        assert page.locator("#repository-table thead button").count() == 0
        assert page.locator("svg[role=img]").count() == len(CHARTS)
        browser.close()


def blank(png: bytes) -> bool:
    """True when the picture's pixel data hold (nearly) one colour: few distinct byte values."""
    return len(set(zlib.decompress(b"".join(data for kind, data in chunks(png) if kind == b"IDAT")))) < 16


def chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = 8  # the PNG signature
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        yield png[offset + 4:offset + 8], png[offset + 8:offset + 8 + length]
        offset += 12 + length


def with_text(png: bytes, key: str, value: str) -> bytes:
    """The PNG with a tEXt entry right after its header chunk."""
    data = key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:33] + chunk + png[33:]  # signature (8) + IHDR (12 + 13)


def text_of(png: bytes) -> dict[str, str]:
    return dict(data.decode("latin-1").split("\0", 1) for kind, data in chunks(png) if kind == b"tEXt")


def check_screenshot(picture: bytes, page: bytes) -> None:
    """docs/report.png shows this very page, or is rewritten when ECRGEN_UPDATE_SCREENSHOT is set."""
    digest = hashlib.sha256(page).hexdigest()
    if os.environ.get("ECRGEN_UPDATE_SCREENSHOT"):
        SCREENSHOT.write_bytes(with_text(picture, PAGE_HASH_KEY, digest))
    with contextlib.suppress(FileNotFoundError):
        if text_of(SCREENSHOT.read_bytes()).get(PAGE_HASH_KEY) == digest:
            return
    pytest.fail(f"{SCREENSHOT.relative_to(ROOT)} shows an older page: run `ECRGEN_UPDATE_SCREENSHOT=1 "
                ".venv/bin/pytest -n0 tests/test_report_browser.py` and commit it")


def test_the_screenshot_checks_can_fail() -> None:
    white = zlib.compress(b"\0" + b"\xff" * 30 * 3)  # one filtered row of 30 white RGB pixels
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 30, 1, 8, 2, 0, 0, 0)
    png = header + struct.pack(">I", 0) + struct.pack(">I", len(white)) + b"IDAT" + white + b"\0" * 4
    assert blank(png)
    assert text_of(with_text(png, PAGE_HASH_KEY, "abc")) == {PAGE_HASH_KEY: "abc"}
