import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from journeys.journey_files import (
    JourneyFormatError,
    parse_journey,
    read_journey_file,
    shipped_journey_files,
)
from journeys.models import Journey, JourneyWeek

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "journeys" / "content" / "finding-peace.md"

GOOD = """---
title: Small Steps
slug: small-steps
description: Two weeks of small steps.
source: Written by the project.
---

## Week 1: Starting

A first summary.

### Try this

Do a small thing.

### Gentle reminder

Be kind to yourself.

### Prompts

- First question?
- Second question?

## Week 2: Going on

Second summary.

### Try this

Another small thing.

### Gentle reminder

Rest is fine.

### Prompts

- Third question?
- Fourth question?
- Fifth question?
"""


def test_shipped_journey_is_complete_and_credited():
    data = read_journey_file(SHIPPED)
    assert data.slug == "finding-peace"
    assert "Finding Peace in the Mother-Daughter Relationship" in data.source
    assert "Anusa Aq Neh-Ti" in data.source
    assert [w.number for w in data.weeks] == list(range(1, 9))
    assert data.weeks[0].title == "Understanding the Dynamics"
    assert data.weeks[7].title == "Celebrating Your Progress"
    for week in data.weeks:
        assert week.summary and week.practice and week.reminder
        assert 2 <= len(week.prompts) <= 3


@pytest.mark.django_db
def test_data_migration_loaded_the_shipped_journeys():
    # The test database was built by running the migrations.
    slugs = {read_journey_file(p).slug for p in shipped_journey_files()}
    assert slugs <= set(Journey.objects.values_list("slug", flat=True))
    assert JourneyWeek.objects.filter(journey__slug="finding-peace").count() == 8


@pytest.mark.django_db
def test_import_command_is_idempotent_and_updates(tmp_path):
    path = tmp_path / "small.md"
    path.write_text(GOOD)
    call_command("import_journey", str(path))
    call_command("import_journey", str(path))
    journey = Journey.objects.get(slug="small-steps")
    assert journey.weeks.count() == 2
    assert journey.weeks.get(number=2).prompts == [
        "Third question?",
        "Fourth question?",
        "Fifth question?",
    ]

    path.write_text(GOOD.replace("A first summary.", "A better first summary."))
    call_command("import_journey", str(path))
    assert Journey.objects.filter(slug="small-steps").count() == 1
    assert journey.weeks.get(number=1).summary == "A better first summary."


@pytest.mark.parametrize(
    "broken,line,message",
    [
        (GOOD.replace("## Week 2: Going on", "## Week 3: Going on"), 25, "expected Week 2"),
        (
            GOOD.replace("- Third question?\n- Fourth question?\n- Fifth question?", "- Only one?"),
            25,
            "2 or 3 prompts",
        ),
        (GOOD.replace("### Gentle reminder\n\nBe kind to yourself.\n\n", ""), 8, "Gentle reminder"),
        (GOOD.replace("slug: small-steps\n", ""), 2, "'slug'"),
        (GOOD.replace("- First question?", "First question?"), 22, "list item"),
        (
            GOOD.replace("### Try this\n\nDo a small thing.", "### Try that\n\nDo a small thing."),
            12,
            "unknown section",
        ),
        (GOOD.replace("title: Small Steps", "title: [oops"), 2, "YAML"),
    ],
)
def test_malformed_files_give_line_numbered_errors(broken, line, message):
    with pytest.raises(JourneyFormatError) as info:
        parse_journey(broken)
    assert info.value.line == line, str(info.value)
    assert message in info.value.message


@pytest.mark.django_db
def test_malformed_file_imports_nothing(tmp_path):
    good = tmp_path / "a.md"
    good.write_text(GOOD)
    bad = tmp_path / "b.md"
    bad.write_text(
        GOOD.replace("slug: small-steps", "slug: other").replace("- Second question?\n", "")
    )
    with pytest.raises(CommandError, match=r"b\.md:8: Week 1 needs 2 or 3 prompts"):
        call_command("import_journey", str(good), str(bad))
    assert not Journey.objects.filter(slug__in=["small-steps", "other"]).exists()


def test_import_command_exit_code_and_message(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("no front matter here\n")
    out = subprocess.run(
        [sys.executable, "manage.py", "import_journey", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "supportgroup.settings.test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        },
    )
    assert out.returncode != 0
    assert "bad.md:1: the file must start with '---'" in out.stderr


def test_shipped_text_is_in_our_own_words():
    tool = ROOT.parent / "shared" / "tools" / "own-words"
    if not tool.exists():
        pytest.skip("the shared own-words tool is not beside this checkout")
    out = subprocess.run([sys.executable, str(tool), str(SHIPPED)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    assert "0 run(s)" in out.stdout
