"""Fixtures: Debian's Chromium driven by Playwright, its fake camera showing
a drawn KTP, and the real service stack on free ports."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from card import write_jpeg, write_y4m
from stack import ARTIFACTS, Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FAILURES = ARTIFACTS / "failures"

# The flow waits on real processing (SIM_PROCESSING_MS) and reconnections.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session", autouse=True)
def fresh_artifacts() -> None:
    """Logs and failure screenshots of this run only, in target/browser-test/."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)


def close(stack: Stack) -> None:
    stack.close()
    assert not stack.leaks(), f"logs carry what they never may: {stack.leaks()}"


@pytest.fixture(scope="session")
def cards(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cards")
    return {
        # Wider than the page sends, so the resize shows.
        "photo": write_jpeg(folder / "ktp.jpg", (2000, 1250)),
        "camera": write_y4m(folder / "ktp.y4m", (1280, 720)),
    }


@pytest.fixture(scope="session")
def browser(cards) -> Browser:
    with sync_playwright() as playwright:
        # No `playwright install`: Debian's Chromium, with the flags that keep
        # it off the network, and a fake camera filming the drawn card.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={cards['camera']}",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def stack() -> Stack:
    """The stack most tests share; each test signs in as a user of its own."""
    shared = Stack("shared").start()
    yield shared
    close(shared)


@pytest.fixture
def make_stack():
    """A stack with settings of its own, closed after the test."""
    made = []

    def make(name: str, **env: str) -> Stack:
        made.append(Stack(name, **env))
        return made[-1].start()

    yield make
    for each in made:
        close(each)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def open_page(browser: Browser, request, **context_options) -> Page:
    """A fresh browser profile; a screenshot is kept if the test fails, and
    an uncaught script error fails it."""
    context = browser.new_context(locale="en-GB", **context_options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def finish() -> None:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=FAILURES / f"{request.node.name}.png", full_page=True)
        context.close()
        assert not errors, f"uncaught errors in the page: {errors}"

    request.addfinalizer(finish)
    return page


@pytest.fixture
def page(browser, request) -> Page:
    return open_page(browser, request, viewport={"width": 1024, "height": 800})


@pytest.fixture
def user(request) -> str:
    """A user id of this test's own, so that no two tests share attempts."""
    return request.node.name.removeprefix("test_").replace("_", "-")[:40]
