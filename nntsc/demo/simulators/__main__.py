"""``python -m nntsc.demo.simulators [--except T,...]``: the simulated tests, comma-separated.

`bin/demo.sh` reads the tests it loads from here, so a new simulator needs no
change there; ``--describe`` lists them with their cadence for people.
"""

from __future__ import annotations

import argparse

from nntsc.demo.simulators import SIMULATORS


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nntsc.demo.simulators", description=__doc__)
    parser.add_argument("--except", dest="excluded", default="", help="tests to leave out")
    parser.add_argument("--describe", action="store_true", help="one line per test")
    args = parser.parse_args()
    excluded = {name.strip() for name in args.excluded.split(",") if name.strip()}
    unknown = sorted(excluded - set(SIMULATORS))
    if unknown:
        parser.error(f"unknown tests: {', '.join(unknown)} (known: {', '.join(SIMULATORS)})")
    chosen = [cls for name, cls in SIMULATORS.items() if name not in excluded]
    if args.describe:
        for cls in chosen:
            every = "every mesh interval" if cls.period is None else f"every {cls.period} s"
            print(f"{cls.test:<11} {every:<20} {cls.summary}")
    else:
        print(",".join(cls.test for cls in chosen))


if __name__ == "__main__":
    main()
