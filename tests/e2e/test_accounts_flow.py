from playwright.sync_api import Page, expect

from supportgroup.accounts.models import User


def test_signup_on_a_phone(page: Page, live_asgi: str):
    page.goto(f"{live_asgi}/accounts/signup/")
    # Fits a 390px phone without sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The crisis link is on the page.
    expect(page.get_by_role("link", name="Need help now?")).to_be_visible()

    page.get_by_label("Email").fill("phone.person@example.com")
    page.get_by_label("Display name").fill("Lina")
    page.locator("#id_password1").fill("a-calm-phone-password-1")
    page.locator("#id_password2").fill("a-calm-phone-password-1")
    page.get_by_role("button", name="Sign Up").click()

    # Consent missing: the browser asks for the box before sending, nothing typed is lost.
    consent = page.get_by_label("I agree")
    assert consent.evaluate("el => el.validationMessage") != ""
    assert not User.objects.filter(email="phone.person@example.com").exists()
    expect(page.get_by_label("Email")).to_have_value("phone.person@example.com")
    expect(page.get_by_label("Display name")).to_have_value("Lina")

    page.locator("#id_password1").fill("a-calm-phone-password-1")
    page.locator("#id_password2").fill("a-calm-phone-password-1")
    page.get_by_label("I agree").check()
    page.get_by_label("I am 16 or older").check()
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    person = User.objects.get(email="phone.person@example.com")
    assert person.sensitive_data_consent_at and person.age_confirmed_at


def test_skip_link_is_first_and_visible_on_focus(page: Page, live_asgi: str):
    page.goto(f"{live_asgi}/help/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
