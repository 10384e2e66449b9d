"""The demo web app as a person uses it: by the labels and words on screen."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from stack import Stack

MASKED_NIK = re.compile(r"^•{12}\d{4}$")
FULL_NIK = re.compile(r"^\d{16}$")


class DemoApp:
    def __init__(self, page: Page, stack: Stack) -> None:
        self.page, self.stack = page, stack

    def heading(self, name: str):
        return self.page.get_by_role("heading", name=name, level=1)

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    @property
    def status(self):
        return self.page.get_by_role("status")

    @property
    def problem(self):
        return self.page.get_by_role("alert")

    @property
    def nik(self):
        return self.page.locator("#nik-value")

    def attempts(self):
        return self.page.locator("#attempts").get_by_role("listitem")

    def open(self) -> "DemoApp":
        self.page.goto(self.stack.demo_url)
        return self

    def sign_in(self, user: str) -> "DemoApp":
        self.page.get_by_label("User ID").fill(user)
        self.button("Sign in").click()
        expect(self.heading("Verify your identity")).to_be_visible()
        expect(self.page.get_by_text(f"Signed in as {user}")).to_be_visible()
        return self

    def start(self) -> "DemoApp":
        self.button("Start verification").click()
        expect(self.heading("Photograph your KTP")).to_be_visible()
        return self

    def take_photo(self) -> "DemoApp":
        expect(self.page.get_by_text("The camera is on.")).to_be_visible()
        self.button("Take photo").click()
        expect(self.heading("Check your photo")).to_be_visible()
        return self

    def choose_photo(self, path: Path) -> "DemoApp":
        with self.page.expect_file_chooser() as chooser:
            self.button("Choose a photo instead").click()
        chooser.value.set_files(path)
        expect(self.heading("Check your photo")).to_be_visible()
        return self

    def photo_width(self) -> int:
        photo = self.page.get_by_role("img", name="Your photo of your KTP")
        expect(photo).to_have_js_property("complete", True)
        return photo.evaluate("img => img.naturalWidth")

    def send(self) -> "DemoApp":
        self.button("Send photo").click()
        expect(self.heading("Checking your KTP")).to_be_visible()
        return self

    def expect_uploaded_and_checking(self) -> None:
        """The upload's progress reached its end, and the check began: what
        the progress screen shows while GTF works."""
        expect(self.page.locator("#upload-percent")).to_have_text("100%")
        expect(self.page.get_by_role("progressbar", name="Uploading your photo")).to_have_js_property("value", 100)
        # In order; the outcome may already follow them.
        expect(self.page.locator("#timeline li")).to_contain_text(
            [re.compile("^Waiting for your photo"), re.compile("^Checking your KTP")]
        )

    def expect_verified(self) -> None:
        """VALID: the card's fields, the NIK masked until asked for."""
        expect(self.heading("Your KTP is verified")).to_be_visible()
        fields = self.page.locator("#ktp-fields")
        expect(fields.locator("dt").first).to_have_text("NIK")
        expect(fields.locator("dt", has_text="Name")).to_be_visible()
        expect(self.nik.locator("[aria-hidden=true]")).to_have_text(MASKED_NIK)
        expect(self.nik).not_to_have_text(FULL_NIK)
        expect(self.button("Show NIK")).to_have_attribute("aria-pressed", "false")

    def reveal_nik(self) -> None:
        masked = self.nik.locator("[aria-hidden=true]").inner_text()
        self.button("Show NIK").click()
        expect(self.nik).to_have_text(FULL_NIK)
        assert self.nik.inner_text().endswith(masked[-4:])
        expect(self.button("Hide NIK")).to_have_attribute("aria-pressed", "true")
