"""A browser's user-agent string, as a person recognises their own device."""

from django import template

register = template.Library()

# First match wins: Edge and Samsung's browser also say "Chrome", Chrome also says "Safari".
BROWSERS = [
    ("Edg/", "Edge"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


@register.filter
def device(user_agent: str | None) -> str:
    """ "Chrome on Android", "Safari on iPhone"; "Unknown browser" when nothing matches."""
    ua = user_agent or ""
    browser = next((name for key, name in BROWSERS if key in ua), "")
    system = next((name for key, name in SYSTEMS if key in ua), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"
