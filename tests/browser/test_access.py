"""The flow on a phone-sized screen, with the keyboard alone, and as axe-core
(vendored, see vendor/README.md) reads it for screen readers."""

import os
from pathlib import Path

from playwright.sync_api import Page, expect

from conftest import open_page
from demo_app import FULL_NIK, DemoApp
from stack import ARTIFACTS, ROOT

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# DEMO_SCREENSHOT=docs/demo.png rewrites the README's; by default it is left
# with the run's other artifacts, so that a run leaves the tree clean.
SCREENSHOT = ROOT / os.environ.get("DEMO_SCREENSHOT", ARTIFACTS / "demo.png")
PHONE = {"width": 360, "height": 740}
TAP_TARGET_PX = 44


def assert_fits_the_phone(page: Page) -> None:
    """No sideways scrolling, and every control on screen big enough to tap.
    (The file input is hidden; the button that opens it stands for it.)"""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    controls = page.locator("button:visible, select:visible, input:not([type=file]):visible")
    assert controls.count() > 0
    for control in controls.all():
        box = control.bounding_box()
        name = control.get_attribute("id") or control.inner_text()
        assert box["height"] >= TAP_TARGET_PX, f"{name!r} is {box['height']} px tall"
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], f"{name!r} sticks out"


def test_on_a_phone_sized_screen(browser, stack, request, user):
    page = open_page(browser, request, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    app = DemoApp(page, stack).open()
    assert_fits_the_phone(page)
    app.sign_in(user)
    assert_fits_the_phone(page)
    app.start()
    expect(page.get_by_text("The camera is on.")).to_be_visible()
    assert_fits_the_phone(page)
    app.take_photo()
    assert_fits_the_phone(page)
    app.send()
    app.expect_verified()
    assert_fits_the_phone(page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)


def focused(page: Page) -> dict:
    """The focused control's name, and whether its focus ring shows."""
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const name = el.labels?.[0]?.textContent ?? el.textContent;
            return { name: name.trim(), ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
        }"""
    )


def tab_to(page: Page, name: str) -> None:
    """The next Tab lands on `name`, with a visible focus ring."""
    page.keyboard.press("Tab")
    assert focused(page) == {"name": name, "ring": True}


def test_with_the_keyboard_alone(page, stack, user):
    app = DemoApp(page, stack).open()
    tab_to(page, "Language")
    tab_to(page, "User ID")
    page.keyboard.type(user)
    tab_to(page, "Sign in")
    page.keyboard.press("Enter")

    # Each new screen's heading takes the focus; the next Tab is its action.
    expect(app.heading("Verify your identity")).to_be_focused()
    tab_to(page, "Start verification")
    page.keyboard.press("Enter")
    expect(app.heading("Photograph your KTP")).to_be_focused()
    expect(app.button("Take photo")).to_be_enabled()
    tab_to(page, "Take photo")
    page.keyboard.press("Space")
    expect(app.heading("Check your photo")).to_be_focused()
    tab_to(page, "Send photo")
    page.keyboard.press("Enter")

    expect(app.heading("Your KTP is verified")).to_be_focused()
    tab_to(page, "Show NIK")
    page.keyboard.press("Space")
    expect(app.nik).to_have_text(FULL_NIK)
    expect(app.button("Hide NIK")).to_be_focused()


def serious_violations(page: Page) -> list[dict]:
    return page.evaluate(
        """async () => {
            const { violations } = await axe.run(document, { resultTypes: ['violations'] });
            return violations
                .filter((v) => ['serious', 'critical'].includes(v.impact))
                .map((v) => ({ rule: v.id, help: v.help, where: v.nodes.map((n) => n.target.join(' ')) }));
        }"""
    )


def test_no_serious_accessibility_problems(browser, stack, cards, request, user):
    # axe goes in as an inline script, which the page's policy forbids.
    page = open_page(browser, request, viewport={"width": 1024, "height": 800}, bypass_csp=True)
    app = DemoApp(page, stack).open()
    page.add_script_tag(path=AXE)
    found = {}

    def check(screen: str) -> None:
        found[screen] = serious_violations(page)

    check("sign-in")
    app.sign_in(f"{user}-invalid")
    check("start")
    app.start()
    expect(page.get_by_text("The camera is on.")).to_be_visible()
    check("camera")
    app.choose_photo(cards["photo"])
    check("review")
    app.send()
    check("progress")
    expect(app.heading("Your KTP was not accepted")).to_be_visible()
    check("not accepted")
    page.get_by_label("Language").select_option("id")
    expect(app.heading("KTP Anda tidak diterima")).to_be_visible()
    check("not accepted, in Bahasa Indonesia")
    page.get_by_label("Bahasa").select_option("en")

    app.button("Sign out").click()
    app.sign_in(user).start()
    app.choose_photo(cards["photo"]).send()
    app.expect_verified()
    check("verified")
    app.reveal_nik()
    check("NIK revealed")
    assert found == {screen: [] for screen in found}
