"""Write ``tests/slow.txt``, the tests ``make test-fast`` leaves out, from a pytest log.

    make test PYTEST_ARGS="--durations=0" | tee /tmp/durations.log
    python tests/slow_tests.py /tmp/durations.log          # tests over 1.5 s of setup + call

A test is slow when its setup, call and teardown together take more than ``--over`` seconds on
the machine that wrote the log (2 CPU cores for the committed list); tests not in the list (new
ones too) are in the fast tier until the list is written again.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*([\d.]+)s (setup|call|teardown)\s+(\S+)")
LIST = Path(__file__).with_name("slow.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log")
    parser.add_argument("--over", type=float, default=1.5)
    args = parser.parse_args()
    seconds: dict[str, float] = defaultdict(float)
    for line in Path(args.log).read_text().splitlines():
        match = LINE.match(line)
        if match:
            seconds[match[3]] += float(match[1])
    slow = sorted(test for test, s in seconds.items() if s > args.over)
    fast = sum(s for s in seconds.values() if s <= args.over)
    header = (
        f"# tests over {args.over} s (setup + call + teardown), written by tests/slow_tests.py;\n"
        f"# {len(slow)} slow of {len(seconds)} timed, the rest took {fast:.0f} s together\n"
    )
    LIST.write_text(header + "".join(f"{test}\n" for test in slow))
    print(f"{LIST}: {len(slow)} slow tests; the fast tier's recorded time: {fast:.0f} s")


if __name__ == "__main__":
    main()
