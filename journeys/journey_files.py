"""Reading journey files: YAML front matter, then one ``## Week N: Title`` section per week.

See docs/journey-format.md. Errors carry the line number, and a bad file
imports nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REQUIRED_META = ("title", "slug", "description", "source")
WEEK_RE = re.compile(r"^##\s+Week\s+(\d+)\s*:\s*(.+?)\s*$")
PART_RE = re.compile(r"^###\s+(.+?)\s*$")
PARTS = {"try this": "practice", "gentle reminder": "reminder", "prompts": "prompts"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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


def parse_journey(text: str, path: str = "") -> JourneyData:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise JourneyFormatError(1, "the file must start with '---' and YAML front matter", path)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise JourneyFormatError(1, "the front matter is not closed with '---'", path) from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark else 2
        raise JourneyFormatError(
            line, f"front matter is not valid YAML ({getattr(exc, 'problem', exc)})", path
        ) from None
    if not isinstance(meta, dict):
        raise JourneyFormatError(2, "front matter must be 'key: value' lines", path)
    for key in REQUIRED_META:
        if not str(meta.get(key) or "").strip():
            raise JourneyFormatError(2, f"front matter needs '{key}'", path)
    slug = str(meta["slug"]).strip()
    if not SLUG_RE.match(slug):
        raise JourneyFormatError(
            2, f"slug '{slug}' may only hold lowercase letters, digits and dashes", path
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
        title=str(meta["title"]).strip(),
        slug=slug,
        description=str(meta["description"]).strip(),
        source=str(meta["source"]).strip(),
        weeks=weeks,
    )


def read_journey_file(path: str | Path) -> JourneyData:
    path = Path(path)
    return parse_journey(path.read_text(encoding="utf-8"), str(path))


SHIPPED_DIR = Path(__file__).resolve().parent / "content"


def shipped_journey_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.md"))
