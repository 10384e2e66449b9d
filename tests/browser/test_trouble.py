"""What a person sees when something goes wrong: upload links that lapse,
the service going away and coming back, an expired sign-in, too many
tries, and every problem the API can answer with."""

import re

from playwright.sync_api import expect

from demo_app import DemoApp

RECONNECTING = "The connection to the service was lost. Trying again in"


def test_lapsed_upload_links_offer_a_new_attempt(page, make_stack, user):
    stack = make_stack("lapse", SIM_UPLOAD_TTL_SECS="2")
    app = DemoApp(page, stack).open().sign_in(user).start()
    # No photo is sent: the link lapses while the page is open.
    expect(app.heading("This attempt has expired")).to_be_visible()
    expect(page.get_by_text("The upload link lapsed before your photo was sent.", exact=False)).to_be_visible()
    expect(app.attempts()).to_have_count(1)

    app.button("Start a new attempt").click()
    expect(app.heading("Photograph your KTP")).to_be_visible()
    expect(app.attempts()).to_have_count(2)


def test_the_page_recovers_when_the_service_comes_back(page, make_stack, cards, user):
    # Long enough a check to stop the service while it runs.
    stack = make_stack("restart", SIM_PROCESSING_MS="4000")
    app = DemoApp(page, stack).open().sign_in(user).start()
    app.choose_photo(cards["photo"])

    stack.stop_service()
    app.button("Send photo").click()
    # The photo still reaches the storage; the confirmation does not.
    expect(page.locator("#upload-percent")).to_have_text("100%")
    expect(app.problem).to_contain_text(
        "We cannot reach the service. Check your internet connection and try again."
    )

    stack.restart_service()
    app.button("Try again").click()
    expect(page.locator("#timeline li").last).to_have_text(re.compile("^Checking your KTP"))

    # Gone again while GTF checks: the live status says so and reconnects.
    stack.stop_service()
    expect(app.status).to_contain_text(RECONNECTING)
    stack.restart_service()
    app.expect_verified()
    expect(app.status).not_to_contain_text(RECONNECTING)


def test_an_expired_sign_in_asks_to_sign_in_again(page, stack, user):
    app = DemoApp(page, stack).open()
    expired = {"token": stack.jwt(user, expires_in_s=-600), "userId": user}
    page.evaluate("s => sessionStorage.setItem('session', JSON.stringify(s))", expired)
    page.reload()
    expect(app.problem).to_have_text("Your sign-in has expired. Please sign in again.")
    expect(app.heading("Sign in")).to_be_visible()
    app.sign_in(user)
    expect(app.problem).to_be_empty()


def test_too_many_tries_are_explained(page, make_stack, user):
    stack = make_stack("limits", RATE_LIMIT_PER_MINUTE="2")
    app = DemoApp(page, stack).open().sign_in(user)
    for _ in range(2):
        app.start()
        # Leaving the attempt; the sign-in stays for the tab.
        page.reload()
        expect(app.heading("Verify your identity")).to_be_visible()
    app.button("Start verification").click()
    expect(app.problem).to_contain_text(
        re.compile(r"That was too many tries in a short time\. Please wait \d+ seconds, then try again\.")
    )
    expect(app.button("Try again")).to_be_focused()


def test_every_problem_code_is_a_sentence_in_both_languages(page, stack):
    # The service's own list, and two codes other changes are adding.
    codes = sorted(set(stack.problem_codes()) | {"TOO_MANY_STREAMS", "REQUEST_TIMEOUT"})
    DemoApp(page, stack).open()
    said = page.evaluate(
        """async (codes) => {
            const { messageKey } = await import('./api.js');
            const i18n = await import('./i18n.js');
            const said = {};
            for (const lang of ['en', 'id']) {
                i18n.setLanguage(lang);
                said[lang] = codes.map((code) => [messageKey(code), i18n.t(messageKey(code), { seconds: 5 })]);
            }
            return said;
        }""",
        codes,
    )
    for code, (key, english), (_, indonesian) in zip(codes, said["en"], said["id"]):
        assert key != "error.UNKNOWN", f"{code} has no sentence of its own"
        assert english != indonesian, f"{code}: {key} is not translated"
        for sentence in (english, indonesian):
            assert sentence.endswith(".") and not re.search(r"[{}]|[A-Z]{3,}_", sentence), sentence
