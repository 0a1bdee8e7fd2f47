"""Adds up JUnit XML reports into one closing line: 'tests: N passed, N failed, N skipped (N unexpected)'.

Exits non-zero when anything failed, when nothing passed, or when a test was skipped that test/skip-allowlist.txt
does not allow: a skip hides a test that did not run (missing data, a missing tool), so a run with one is not green.
The unexpected skips are listed, with their reason, above the closing line.
"""

import fnmatch
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ALLOWLIST = Path(__file__).resolve().parents[2] / "test" / "skip-allowlist.txt"


def read_allowlist(path: Path) -> list[str]:
    """One glob over 'classname::name' per line, then ' # ' and why that skip is acceptable (the reason is required)."""
    patterns = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition(" # ")
        if not sep or not reason.strip():
            sys.exit(f"{path}:{n}: '{line}' has no reason: write '<pattern> # <why this skip is acceptable>'")
        patterns.append(pattern.strip())
    return patterns


def main(paths: list[str], allowlist: Path = ALLOWLIST) -> int:
    allowed = read_allowlist(allowlist) if allowlist.is_file() else []
    passed = failed = skipped = 0
    unexpected = []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            print(f"missing or unreadable report {path}", file=sys.stderr)
            failed += 1
            continue
        for case in root.iter("testcase"):
            skip = case.find("skipped")
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif skip is not None:
                skipped += 1
                test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
                if not any(fnmatch.fnmatchcase(test_id, p) for p in allowed):
                    unexpected.append(f"{test_id}: {skip.get('message') or (skip.text or '').strip() or 'no reason given'}")
            else:
                passed += 1
    if unexpected:
        print(f"unexpected skips (not on {allowlist.name}):", file=sys.stderr)
        for line in unexpected:
            print(f"  {line}", file=sys.stderr)
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped ({len(unexpected)} unexpected)")
    return 1 if failed or unexpected or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
