#!/usr/bin/env python3
"""Wait, through flowdriftd's JSON API, for what scripts/demo.sh promises. Standard library only.

  demo_wait.py --url http://127.0.0.1:PORT --pair prod --timeout S in-sync
      exit 0 once the pair's status is IN_SYNC
  demo_wait.py --url ... --pair prod --timeout S drift KIND:POLICY [KIND:POLICY ...]
      exit 0 once the pair's raised (alerting) drift items are exactly these, one per policy
      with that kind; prints each item
  demo_wait.py --url ... --pair prod --timeout S vm-gap VM
      exit 0 once the pair has an open VM coverage gap of kind unprotected for VM; prints it

Exit 1 at the timeout, saying what was last seen; 2 on bad arguments.
"""
import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read().decode())
    except (urllib.error.URLError, OSError, ValueError) as e:
        return {"error": str(e)}


def pair_status(args):
    doc = get(f"{args.url}/api/v1/pairs")
    for p in doc.get("pairs", []):
        if p.get("name") == args.pair:
            return p.get("status") == "IN_SYNC", f"status {p.get('status')} {p.get('reason', '')}"
    return False, f"no pair {args.pair!r} yet: {doc}"


def raised_items(args):
    doc = get(f"{args.url}/api/v1/drift?pair={args.pair}")
    if "items" not in doc:
        return False, f"no answer: {doc}"
    want = {}
    for spec in args.items:
        kind, _, policy = spec.partition(":")
        want[policy] = kind
    items = doc["items"]
    raised = {i["policy"]: i for i in items if i.get("state") == "raised"}
    seen = ", ".join(f"{i['kind']}:{i['policy']} ({i['state']})" for i in items) or "no items"
    if set(raised) != set(want) or len(items) != len(want):
        return False, seen
    for policy, kind in want.items():
        if raised[policy]["kind"] != kind:
            return False, seen
    for policy in want:
        i = raised[policy]
        print(f"demo: drift item {i['id']}: {i['kind']} {i['severity']} {i['policy']}: {i['summary']}")
    return True, seen


def vm_gap(args):
    doc = get(f"{args.url}/api/v1/pairs")
    for p in doc.get("pairs", []):
        if p.get("name") != args.pair:
            continue
        gaps = p.get("vm_coverage_gaps", [])
        for g in gaps:
            if g.get("vm") == args.items[0] and g.get("kind") == "unprotected":
                print(f"demo: VM coverage gap: {g['vm']} {g['kind']} ({g['protected_by']}): {g['detail']}")
                return True, "found"
        return False, ", ".join(f"{g.get('vm')} {g.get('kind')}" for g in gaps) or "no gaps"
    return False, f"no pair {args.pair!r} yet: {doc}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pair", required=True)
    ap.add_argument("--timeout", type=float, required=True)
    ap.add_argument("what", choices=["in-sync", "drift", "vm-gap"])
    ap.add_argument("items", nargs="*", metavar="KIND:POLICY | VM")
    args = ap.parse_args()
    if args.what == "drift" and not all(":" in s for s in args.items):
        ap.error("drift takes KIND:POLICY arguments")
    if args.what == "vm-gap" and len(args.items) != 1:
        ap.error("vm-gap takes one VM name")
    check = {"in-sync": pair_status, "drift": raised_items, "vm-gap": vm_gap}[args.what]
    deadline = time.monotonic() + args.timeout
    last = ""
    while time.monotonic() < deadline:
        ok, last = check(args)
        if ok:
            return 0
        time.sleep(0.5)
    print(f"demo: gave up after {args.timeout:.0f} s waiting for {args.what}; last seen: {last}",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
