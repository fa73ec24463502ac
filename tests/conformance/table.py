#!/usr/bin/env python3
"""The conformance suite's results (run.sh's CONF_RESULTS TSV) as a Markdown table.

    python3 tests/conformance/table.py target/conformance.tsv > table.md

One row per case, one column per engine (cpu: the CPU engine; hw: the hisi_zip driver over
modelled devices); a benchmark cell holds its figures as the tool printed them (KiB/s and
Kops over the run, CPU % of one core), other cells pass or FAIL.
"""
import sys

ENGINES = [("cpu", "CPU engine"), ("hw", "hisi_zip, modelled (UADK_ZIP_MODEL=2@0)")]


def cell(fields):
    result = fields[2] if len(fields) > 2 else ""
    if result != "ok":
        return "**FAIL**"
    perf = fields[3] if len(fields) > 3 else ""
    if not perf:
        return "pass"
    kib, kops, cpu = float(perf), fields[4], fields[5]
    return f"pass: {kib / 1024:,.1f} MiB/s, {kops} Kops, CPU {cpu} %"


def main(path):
    rows, order = {}, []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                continue
            engine, case = fields[0], fields[1]
            if case not in rows:
                rows[case] = {}
                order.append(case)
            rows[case][engine] = cell(fields)
    head = "| case | " + " | ".join(name for _, name in ENGINES) + " |"
    print(head)
    print("|" + " --- |" * (len(ENGINES) + 1))
    for case in order:
        cells = [rows[case].get(e, "—") for e, _ in ENGINES]
        print(f"| `{case}` | " + " | ".join(cells) + " |")
    total = sum(len(r) for r in rows.values())
    passed = sum(1 for r in rows.values() for c in r.values() if c.startswith("pass"))
    print(f"\n{passed} of {total} case runs pass.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/conformance.tsv")
