#!/usr/bin/env python3
"""Turns the JSON of `saddle report --json FILE` into a markdown record: one section per
experiment with its time and every check, held or not, with the numbers behind it.

usage: report_summary.py REPORT.json [--machine TEXT] > RECORD.md
"""
import json
import sys


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    report = json.load(open(sys.argv[1], encoding="utf-8"))
    machine = sys.argv[sys.argv.index("--machine") + 1] if "--machine" in sys.argv else None
    checks = [c for e in report["experiments"] for c in e["checks"]]
    print("# saddle report: the verdicts\n")
    print(report["generated"] + ("\n\n" + machine if machine else "") + "\n")
    print(f"{sum(c['held'] for c in checks)} of {len(checks)} checks held; total {report['seconds']:.0f} s.\n")
    print("| experiment | checks held | seconds |\n|---|---|---|")
    for e in report["experiments"]:
        print(f"| {e['title']} (`{e['id']}`) | {sum(c['held'] for c in e['checks'])} of {len(e['checks'])} | {e['seconds']:.1f} |")
    for e in report["experiments"]:
        print(f"\n## {e['title']}\n")
        for c in e["checks"]:
            print(f"- **{'held' if c['held'] else 'did not hold'}**: {c['claim']}  \n  {c['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
