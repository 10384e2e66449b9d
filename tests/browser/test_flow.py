"""The KTP Scan flow end to end: a real browser, the demo app, gtf-bff, the
simulator and PostgreSQL."""

import re

from playwright.sync_api import expect

from demo_app import DemoApp


def test_a_photo_from_the_camera_is_verified(page, stack, user):
    app = DemoApp(page, stack).open().sign_in(user).start()
    app.take_photo()
    # The fake camera's whole frame, sent at its own size (under 1600 px).
    assert app.photo_width() == 1280
    app.send()
    app.expect_uploaded_and_checking()
    app.expect_verified()
    app.reveal_nik()
    expect(app.attempts()).to_have_count(1)
    expect(app.attempts().first).to_contain_text("Verified")


def test_a_chosen_photo_is_verified(page, stack, cards, user):
    app = DemoApp(page, stack).open().sign_in(user).start()
    app.choose_photo(cards["photo"])
    # 2000 px wide on disk, sent at most 1600 px wide.
    assert app.photo_width() == 1600
    app.send()
    app.expect_uploaded_and_checking()
    app.expect_verified()
    app.reveal_nik()


def test_a_rejected_card_says_why_and_can_be_tried_again(page, stack, cards, user):
    app = DemoApp(page, stack).open().sign_in(f"{user}-invalid").start()
    app.choose_photo(cards["photo"]).send()
    expect(app.heading("Your KTP was not accepted")).to_be_visible()
    expect(page.get_by_text("The card in the photo is not an electronic KTP (e-KTP).")).to_be_visible()

    app.button("Try again").click()
    expect(app.heading("Photograph your KTP")).to_be_visible()
    app.choose_photo(cards["photo"]).send()
    app.expect_uploaded_and_checking()
    expect(app.heading("Your KTP was not accepted")).to_be_visible()
    expect(app.attempts()).to_have_count(2)
    for attempt in app.attempts().all():
        expect(attempt).to_contain_text("Not accepted")

    # The same outcome, in Bahasa Indonesia.
    page.get_by_label("Language").select_option("id")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(app.heading("KTP Anda tidak diterima")).to_be_visible()
    expect(page.get_by_text("Kartu di foto bukan KTP elektronik (e-KTP).")).to_be_visible()
    expect(app.button("Coba lagi")).to_be_visible()
    expect(app.attempts().first).to_contain_text("Tidak diterima")


def test_without_a_callback_the_outcome_still_arrives(page, stack, cards, user):
    # The simulator sends no callback for this user: the service's
    # reconciler asks GTF, and the live status brings the answer.
    app = DemoApp(page, stack).open().sign_in(f"{user}-nocallback").start()
    app.choose_photo(cards["photo"]).send()
    app.expect_uploaded_and_checking()
    app.expect_verified()


def test_a_failed_check_says_what_to_do_next(page, stack, cards, user):
    app = DemoApp(page, stack).open().sign_in(f"{user}-error").start()
    app.choose_photo(cards["photo"]).send()
    expect(app.heading("We could not finish checking your KTP")).to_be_visible()
    expect(page.get_by_text(re.compile("not with your photo. Please try again in a few minutes"))).to_be_visible()
    app.button("Try again").click()
    expect(app.heading("Photograph your KTP")).to_be_visible()


def test_every_document_gtf_asks_for_is_photographed(page, make_stack, cards, user):
    # GTF names the documents it wants; the page asks for each in turn.
    stack = make_stack("documents", SIM_DOCUMENTS="KTP_FRONT,KTP_BACK")
    app = DemoApp(page, stack).open().sign_in(user).start()
    asked = []
    for n in (1, 2):
        expect(app.heading("Photograph your KTP")).to_be_visible()
        which = page.get_by_text(re.compile(rf"^Photo {n} of 2: KTP_(FRONT|BACK)$"))
        expect(which).to_be_visible()
        asked.append(which.inner_text().split(": ")[1])
        app.choose_photo(cards["photo"])
        app.button("Send photo").click()
    assert sorted(asked) == ["KTP_BACK", "KTP_FRONT"]
    app.expect_uploaded_and_checking()
    app.expect_verified()
