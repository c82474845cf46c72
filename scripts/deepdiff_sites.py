#!/usr/bin/python3
"""What a user writes from the Nutanix examples to compare two saved v3 rule lists: every
rule's spec by name, compared with DeepDiff (Debian's python3-deepdiff), list order ignored
(Flow's lists are sets). The yardstick `scripts/diff-vs-deepdiff.sh` holds flowdriftctl to.
Usage: deepdiff_sites.py SOURCE REPLICA
"""
import json
import sys

from deepdiff import DeepDiff


def specs(path):
    with open(path, encoding="utf-8") as f:
        return {e["spec"]["name"]: e["spec"] for e in json.load(f)["entities"]}


def main():
    diff = DeepDiff(specs(sys.argv[1]), specs(sys.argv[2]), ignore_order=True)
    changed = sum(len(v) for v in diff.values())
    print(f"{changed} difference(s)")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
