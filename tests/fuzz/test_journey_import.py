"""Hostile journey files: a clear error with a line number, or a journey stored as written.

Never another exception (the command would print a traceback), never a hang on a
YAML alias bomb, and a theme made from an imported week renders without scripts.
"""

from __future__ import annotations

import contextlib
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from journeys.journey_files import JourneyFormatError, parse_journey
from journeys.models import Journey
from tests.factories import MembershipFactory, WeeklyThemeFactory
from tests.fuzz.hostile import XSS, assert_safe_page, hostile_text

pytestmark = pytest.mark.django_db

WEEK = """## Week {n}: {title}

{summary}

### Try this

{practice}

### Gentle reminder

{reminder}

### Prompts

- {prompt}
- Second question?
"""


def journey_file(*, front: str, weeks: list[dict]) -> str:
    body = "\n".join(WEEK.format(n=i, **w) for i, w in enumerate(weeks, start=1))
    return f"---\n{front}\n---\n\n{body}"


def yaml_quoted(value: str) -> str:
    # YAML double quotes: backslash and quote escaped, line breaks as \n.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


ONE_LINE = hostile_text(max_size=140, nul=True).map(lambda s: s.replace("\n", " "))
WEEK_FIELDS = st.fixed_dictionaries(
    {
        "title": st.one_of(ONE_LINE, st.sampled_from(XSS)),
        "summary": hostile_text(max_size=300, nul=True),
        "practice": hostile_text(max_size=300),
        "reminder": st.sampled_from(XSS),
        "prompt": ONE_LINE,
    }
)


def refused_well(error: JourneyFormatError, text: str) -> None:
    assert 1 <= error.line <= text.count("\n") + 1, error
    assert error.message and len(str(error)) < 300


@contextlib.contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@given(
    title=ONE_LINE,
    description=hostile_text(max_size=300, nul=True),
    weeks=st.lists(WEEK_FIELDS, min_size=1, max_size=3),
)
def test_hostile_text_in_every_field(db, client, title, description, weeks):
    text = journey_file(
        front=f"title: {yaml_quoted(title)}\nslug: fuzz\ndescription: {yaml_quoted(description)}\nsource: Us",
        weeks=weeks,
    )
    try:
        data = parse_journey(text)
    except JourneyFormatError as error:
        refused_well(error, text)
        return
    with rolled_back():
        from journeys.services.journeys import journey_import

        journey, _ = journey_import(data=data)
        journey.refresh_from_db()
        assert (journey.title, journey.description) == (data.title, data.description)
        stored = list(journey.weeks.order_by("number"))
        assert [w.title for w in stored] == [w.title for w in data.weeks]
        assert [w.prompts for w in stored] == [w.prompts for w in data.weeks]
        # What members then see: a theme made from the first week.
        first = stored[0]
        theme = WeeklyThemeFactory(
            title=first.title,
            summary=first.summary,
            practice=first.practice,
            reminder=first.reminder,
            prompts=first.prompts,
        )
        member = MembershipFactory(group=theme.group)
        client.force_login(member.user)
        page = client.get(reverse("journeys:theme", args=[theme.group.slug, theme.pk]))
        assert page.status_code == 200
        assert_safe_page(page)


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines)


FRONT_MATTER = [
    _bomb() + "\ntitle: *a8\nslug: s\ndescription: d\nsource: s",
    _bomb() + "\ntitle: T\nslug: s\ndescription: *a8\nsource: s",
    "title: !!python/object/apply:os.system ['true']\nslug: s\ndescription: d\nsource: s",
    "title: !!python/name:os.system\nslug: s\ndescription: d\nsource: s",
    "title: [a, b]\nslug: s\ndescription: d\nsource: s",
    "title: {a: 1}\nslug: s\ndescription: d\nsource: s",
    "title: null\nslug: s\ndescription: d\nsource: s",
    "title: yes\nslug: s\ndescription: d\nsource: s",
    "title: 2024-01-01\nslug: 12\ndescription: 1e400\nsource: .nan",
    "title: T\nslug: [s]\ndescription: d\nsource: s",
    'title: "a\\0b"\nslug: s\ndescription: d\nsource: s',
    'title: "\\ud800"\nslug: s\ndescription: d\nsource: s',
    "title: " + "x" * 121 + "\nslug: s\ndescription: d\nsource: s",
    "title: T\nslug: " + "s" * 61 + "\ndescription: d\nsource: s",
    "title: T\nslug: Not A Slug\ndescription: d\nsource: s",
    "title: " + "[" * 3000 + "]" * 3000 + "\nslug: s\ndescription: d\nsource: s",
    "title: " + "x" * 30_000 + "\nslug: s\ndescription: d\nsource: s",
    "- just\n- a list",
    "just a string",
    "title: T\ntitle: again\nslug: s\ndescription: d\nsource: s",
    "&anchor title: T",
    "\t\tbad: indentation\n  - x",
]
GOOD_WEEK = {"title": "W", "summary": "S.", "practice": "P.", "reminder": "R.", "prompt": "Q?"}


@pytest.mark.parametrize("front", FRONT_MATTER, ids=range(len(FRONT_MATTER)))
def test_hostile_front_matter_is_refused_quickly(front):
    text = journey_file(front=front, weeks=[GOOD_WEEK])
    started = time.monotonic()
    try:
        data = parse_journey(text)
    except JourneyFormatError as error:
        refused_well(error, text)
    else:
        # Accepted only as plain text (numbers and dates read as their text).
        assert all(
            isinstance(v, str) for v in (data.title, data.slug, data.description, data.source)
        )
    assert time.monotonic() - started < 5  # an alias bomb expanded would take hours


@given(st.one_of(st.text(max_size=500), hostile_text(max_size=500, nul=True, surrogates=True)))
def test_any_text_parses_or_says_where(text):
    try:
        parse_journey(text)
    except JourneyFormatError as error:
        refused_well(error, text)


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xfe-\x00-\x00-\x00",  # UTF-16 with a byte order mark
        b"---\ntitle: T\n---\n" + b"\xc3\x28 broken UTF-8",
        b"\x00" * 100,
        b"---\ntitle: T\n---\n" + b"x" * 4_100_000,  # over the size cap
    ],
    ids=["utf-16", "broken-utf-8", "nul-bytes", "huge"],
)
def test_import_command_refuses_hostile_files_with_a_message(tmp_path, content):
    path = tmp_path / "journey.md"
    path.write_bytes(content)
    before = Journey.objects.count()  # the shipped journeys are there already
    with pytest.raises(CommandError) as refused:
        call_command("import_journey", str(path))
    assert str(path) in str(refused.value) and len(str(refused.value)) < 300
    assert Journey.objects.count() == before
