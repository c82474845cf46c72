#!/usr/bin/env python3
"""Make one real change on a Prism Central (or pcsim) through its v3 API, as an operator would.

Used by scripts/demo.sh to make the DR site drift. Standard library only.

  pc_change.py --url https://127.0.0.1:PORT --ca-file CA --password-file F ACTION [--nth N]

ACTION is one of:
  delete   delete the Nth enforced application policy
  monitor  switch the Nth enforced application policy to MONITOR
  widen    add an inbound rule allowing TCP/8443 from anywhere to the Nth enforced app policy
Prints the name of the policy it changed.

Two more act through pcsim's admin paths (a simulated PC has no VMs of its own):
  protect-vms      give the site two VMs protected for DR by the protection rule "gold",
                   web-vm-01 and db-vm-01, each secured by the categories of an enforced
                   application policy of an application that none of the first N enforced
                   policies belongs to; prints "VM POLICY KEY:VALUE" for web-vm-01 (its AppType)
  remove-category  remove the category value --category KEY:VALUE although policies use it
                   (what a real PC refuses through its API: the site is left as if it had been
                   removed out of band); prints it
"""
import argparse
import base64
import json
import ssl
import sys
import urllib.error
import urllib.request


def call(args, method, path, body=None, prefix="/api/nutanix/v3/"):
    url = args.url.rstrip("/") + prefix + path
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    token = base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    req.add_header("Authorization", "Basic " + token)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    ctx = ssl.create_default_context(cafile=args.ca_file)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            text = resp.read().decode()
            return json.loads(text) if text else {}
    except urllib.error.HTTPError as e:
        sys.exit(f"pc_change: {method} {path}: HTTP {e.code}: {e.read()[:300]!r}")


def admin(args, path, body):
    """A pcsim admin request (/_pcsim/...), with the same credentials."""
    return call(args, "PUT" if path == "coverage" else "POST", path, body, prefix="/_pcsim/")


def secured(rule):
    """The categories an application policy secures, {key: value}."""
    params = rule["spec"]["resources"]["app_rule"]["target_group"]["filter"]["params"]
    return {k: v[0] for k, v in params.items()}


def protect_vms(args, rules):
    # Two applications no enforced policy before the Nth belongs to: changes made to those
    # policies leave these VMs' policies and categories alone.
    taken = {secured(r).get("AppType") for r in rules[:args.nth]}
    picked = []
    for r in rules[args.nth:]:
        app = secured(r).get("AppType")
        if app not in taken:
            taken.add(app)
            picked.append(r)
        if len(picked) == 2:
            break
    if len(picked) < 2:
        sys.exit("pc_change: fewer than two applications after the first policies")
    web, other = secured(picked[0]), secured(picked[1])
    gold = {"Protection": "Gold"}
    # The category the protection rule selects by, as a PC needs it before a VM can carry it.
    call(args, "PUT", "categories/Protection", {"name": "Protection", "description": "DR protection"})
    call(args, "PUT", "categories/Protection/Gold", {"value": "Gold"})
    admin(args, "coverage", {
        "vms": [{"name": "web-vm-01", "categories": {**web, **gold}},
                {"name": "db-vm-01", "categories": {**other, **gold}}],
        "protection_rules": [{"name": "gold", "categories": {"Protection": ["Gold"]}}]})
    key = "AppType" if "AppType" in web else next(iter(web))
    print(f"web-vm-01 {picked[0]['spec']['name']} {key}:{web[key]}")


def enforced_app_rules(args):
    rules, offset = [], 0
    while True:
        page = call(args, "POST", "network_security_rules/list",
                    {"kind": "network_security_rule", "offset": offset, "length": 500})
        rules += page["entities"]
        offset += len(page["entities"])
        if not page["entities"] or offset >= page["metadata"]["total_matches"]:
            break
    return [r for r in rules
            if r["spec"]["resources"].get("app_rule", {}).get("action") == "APPLY"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--user", default="admin")
    p.add_argument("--password-file", required=True)
    p.add_argument("--nth", type=int, default=0)
    p.add_argument("--category", help="KEY:VALUE, for remove-category")
    p.add_argument("action", choices=["delete", "monitor", "widen", "protect-vms", "remove-category"])
    args = p.parse_args()
    with open(args.password_file) as f:
        args.password = f.read().strip()

    if args.action == "remove-category":
        key, sep, value = (args.category or "").partition(":")
        if not sep or not key or not value:
            sys.exit("pc_change: remove-category needs --category KEY:VALUE")
        admin(args, "force_delete", {"kind": "category", "key": key, "value": value})
        print(args.category)
        return
    rules = enforced_app_rules(args)
    if args.action == "protect-vms":
        if len(rules) <= args.nth + 1:
            sys.exit(f"pc_change: only {len(rules)} enforced application policies")
        protect_vms(args, rules)
        return
    if len(rules) <= args.nth:
        sys.exit(f"pc_change: only {len(rules)} enforced application policies")
    rule = rules[args.nth]
    uuid, name = rule["metadata"]["uuid"], rule["spec"]["name"]
    if args.action == "delete":
        call(args, "DELETE", f"network_security_rules/{uuid}")
    else:
        current = call(args, "GET", f"network_security_rules/{uuid}")
        spec = current["spec"]
        app = spec["resources"]["app_rule"]
        if args.action == "monitor":
            app["action"] = "MONITOR"
        else:
            app.setdefault("inbound_allow_list", []).append({
                "peer_specification_type": "ALL",
                "protocol": "TCP",
                "tcp_port_range_list": [{"start_port": 8443, "end_port": 8443}],
                "description": "temporary debug access"})
        call(args, "PUT", f"network_security_rules/{uuid}",
             {"api_version": "3.1", "metadata": current["metadata"], "spec": spec})
    print(name)


if __name__ == "__main__":
    main()
