"""Reading journey files: YAML front matter, then one ``## Week N: Title`` section per week.

See docs/journey-format.md. Errors carry the line number, and a bad file
imports nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from supportgroup.text import storable

REQUIRED_META = ("title", "slug", "description", "source")
WEEK_RE = re.compile(r"^##\s+Week\s+(\d+)\s*:\s*(.+?)\s*$")
PART_RE = re.compile(r"^###\s+(.+?)\s*$")
PARTS = {"try this": "practice", "gentle reminder": "reminder", "prompts": "prompts"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_FILE_CHARS = 1_000_000  # a year of weeks is well under 100,000
TITLE_MAX = 120  # Journey.title and JourneyWeek.title
SLUG_MAX = 60  # Journey.slug
FRONT_MATTER_MAX = 20_000


class JourneyFormatError(ValueError):
    def __init__(self, line: int, message: str, path: str = ""):
        self.line = line
        self.message = message
        self.path = path
        where = f"{path}:" if path else "line "
        super().__init__(f"{where}{line}: {message}")


@dataclass
class WeekData:
    number: int
    title: str
    line: int
    summary: str = ""
    practice: str = ""
    reminder: str = ""
    prompts: list[str] = field(default_factory=list)


@dataclass
class JourneyData:
    title: str
    slug: str
    description: str
    source: str
    weeks: list[WeekData]


def _paragraphs(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _meta_text(meta: dict, key: str, path: str) -> str:
    """A front matter value as text. Only a scalar: a list or mapping is a mistake, and
    turning a tree of YAML aliases into a string could take forever (a "billion laughs")."""
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float | date):
        raise JourneyFormatError(2, f"'{key}' must be text, not a list or a mapping", path)
    text = str(value).strip()
    if storable(text) != text:  # written as YAML escapes ("\0", "\ud800"): PostgreSQL refuses them
        raise JourneyFormatError(2, f"'{key}' holds a NUL character or an unpaired surrogate", path)
    return text


def parse_journey(text: str, path: str = "") -> JourneyData:
    if len(text) > MAX_FILE_CHARS:
        raise JourneyFormatError(
            1, f"the file is longer than {MAX_FILE_CHARS:,} characters; is it a journey?", path
        )
    # \n only: str.splitlines() also splits at form feeds and Unicode separators, and the
    # line numbers in our errors must match what an editor shows.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    for number, line in enumerate(lines, start=1):
        if "\x00" in line:
            # PostgreSQL can't store it; usually a file saved as UTF-16 or a binary file.
            raise JourneyFormatError(number, "contains a NUL character; save it as UTF-8", path)
    if not lines or lines[0].strip() != "---":
        raise JourneyFormatError(1, "the file must start with '---' and YAML front matter", path)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise JourneyFormatError(1, "the front matter is not closed with '---'", path) from None
    front = "\n".join(lines[1:end])
    if len(front) > FRONT_MATTER_MAX:  # four short fields; YAML parsing is slow on huge input
        raise JourneyFormatError(
            2, f"the front matter is longer than {FRONT_MATTER_MAX:,} characters", path
        )
    try:
        meta = yaml.safe_load(front) or {}
    except RecursionError:
        raise JourneyFormatError(2, "front matter nests too deeply", path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark else 2
        raise JourneyFormatError(
            line, f"front matter is not valid YAML ({getattr(exc, 'problem', exc)})", path
        ) from None
    if not isinstance(meta, dict):
        raise JourneyFormatError(2, "front matter must be 'key: value' lines", path)
    for key in REQUIRED_META:
        if meta.get(key) is None or not _meta_text(meta, key, path):
            raise JourneyFormatError(2, f"front matter needs '{key}'", path)
    title = _meta_text(meta, "title", path)
    if len(title) > TITLE_MAX:
        raise JourneyFormatError(2, f"the title is longer than {TITLE_MAX} characters", path)
    slug = _meta_text(meta, "slug", path)
    if len(slug) > SLUG_MAX or not SLUG_RE.match(slug):
        raise JourneyFormatError(
            2,
            f"slug '{slug[:SLUG_MAX]}' may only hold lowercase letters, digits and dashes "
            f"(at most {SLUG_MAX})",
            path,
        )

    weeks: list[WeekData] = []
    week: WeekData | None = None
    part = "summary"
    buffer: list[str] = []

    def flush(at_line: int) -> None:
        if week is None:
            return
        if part == "prompts":
            for offset, raw in buffer:
                stripped = raw.strip()
                if not stripped:
                    continue
                if not stripped.startswith(("- ", "* ")):
                    raise JourneyFormatError(
                        offset, "each prompt must be a list item starting with '- '", path
                    )
                week.prompts.append(stripped[2:].strip())
        else:
            setattr(week, part, _paragraphs([raw for _, raw in buffer]))

    for index in range(end + 1, len(lines)):
        number = index + 1
        raw = lines[index]
        week_match = WEEK_RE.match(raw)
        if raw.startswith("## ") and not week_match:
            raise JourneyFormatError(number, "a section heading must read '## Week N: Title'", path)
        if week_match:
            flush(number)
            expected = len(weeks) + 1
            if int(week_match.group(1)) != expected:
                raise JourneyFormatError(
                    number, f"expected Week {expected}, found Week {week_match.group(1)}", path
                )
            if len(week_match.group(2)) > TITLE_MAX:
                raise JourneyFormatError(
                    number, f"the week's title is longer than {TITLE_MAX} characters", path
                )
            week = WeekData(number=expected, title=week_match.group(2), line=number)
            weeks.append(week)
            part, buffer = "summary", []
            continue
        part_match = PART_RE.match(raw)
        if part_match and week is not None:
            name = part_match.group(1).strip().lower()
            if name not in PARTS:
                raise JourneyFormatError(
                    number,
                    f"unknown section '{part_match.group(1)}' (use: Try this, Gentle reminder, Prompts)",
                    path,
                )
            flush(number)
            part, buffer = PARTS[name], []
            continue
        if week is not None:
            buffer.append((number, raw) if part == "prompts" else (number, raw))
    flush(len(lines))

    if not weeks:
        raise JourneyFormatError(end + 2, "no '## Week 1: Title' section found", path)
    for w in weeks:
        for attr, label in (
            ("summary", "a summary"),
            ("practice", "a '### Try this' section"),
            ("reminder", "a '### Gentle reminder' section"),
        ):
            if not getattr(w, attr):
                raise JourneyFormatError(w.line, f"Week {w.number} needs {label}", path)
        if not 2 <= len(w.prompts) <= 3:
            raise JourneyFormatError(
                w.line, f"Week {w.number} needs 2 or 3 prompts, found {len(w.prompts)}", path
            )
    return JourneyData(
        title=title,
        slug=slug,
        description=_meta_text(meta, "description", path),
        source=_meta_text(meta, "source", path),
        weeks=weeks,
    )


def read_journey_file(path: str | Path) -> JourneyData:
    path = Path(path)
    with path.open("rb") as file:
        raw = file.read(MAX_FILE_CHARS * 4 + 1)  # UTF-8 takes at most 4 bytes a character
    if len(raw) > MAX_FILE_CHARS * 4:
        raise JourneyFormatError(1, "the file is far too long; is it a journey?", str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise JourneyFormatError(
            line, "is not UTF-8 text; save the file as UTF-8", str(path)
        ) from None
    return parse_journey(text, str(path))


SHIPPED_DIR = Path(__file__).resolve().parent / "content"


def shipped_journey_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.md"))
