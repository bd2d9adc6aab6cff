"""Top frames of a py-spy "raw" profile (``py-spy record --format raw``), with percentages.

usage: .venv/bin/python bench/pyspy_top.py /tmp/sg-prof/home.txt [--top 25] [--match journeys/]

"inclusive": share of samples with the function anywhere on the stack (what it and
everything it calls cost); "self": share with it on top (where the CPU actually was).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse(path: str):
    with open(path, encoding="utf-8", errors="replace") as lines:
        yield from _parse(lines)


def _parse(lines):
    for raw in lines:
        raw = raw.rstrip("\n")
        if not raw:
            continue
        stack, _, count = raw.rpartition(" ")
        frames = []
        for f in stack.split(";"):
            m = FRAME.match(f)
            frames.append(f"{m['func']} ({m['file']})" if m else f)
        yield frames, int(count)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--match", action="append", default=[], help="only frames whose file contains this"
    )
    args = parser.parse_args()
    inclusive, leaf, total = Counter(), Counter(), 0
    for frames, n in parse(args.path):
        total += n
        for f in set(frames):
            inclusive[f] += n
        leaf[frames[-1]] += n

    def keep(f: str) -> bool:
        return not args.match or any(m in f for m in args.match)

    print(f"{total} samples")
    print("inclusive:")
    for f, n in [x for x in inclusive.most_common() if keep(x[0])][: args.top]:
        print(f"  {100 * n / total:5.1f}%  {f}")
    print("self:")
    for f, n in [x for x in leaf.most_common() if keep(x[0])][: args.top]:
        print(f"  {100 * n / total:5.1f}%  {f}")


if __name__ == "__main__":
    main()
