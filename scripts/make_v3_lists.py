#!/usr/bin/env python3
"""Writes two v3 network_security_rules/list responses for benchmarking `flowdriftctl diff`.

A pcsim process (--generate N, API v3) is listed page by page over HTTPS, as a user saving
the list from a Prism Central would, and the pages are joined into one response: SOURCE.
REPLICA is the same response with every 50th rule's description edited and every 100th
rule's first inbound port range widened, so the two differ in a known way. Standard library only.
Usage: make_v3_lists.py PCSIM POLICIES SOURCE REPLICA
"""
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request


def listing(pcsim, policies, work):
    env = dict(os.environ, PCSIM_PASSWORD="bench-pw")
    port_file = os.path.join(work, "port")
    proc = subprocess.Popen([pcsim, "--generate", str(policies), "--seed", "7", "--instance-seed", "7",
                             "--tls-dir", work, "--port-file", port_file, "--api-mode", "v3",
                             "--log-level", "warn"], env=env)
    try:
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read())
        ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.pem"))
        auth = "Basic " + base64.b64encode(b"admin:bench-pw").decode()
        entities, page = [], None
        while page is None or len(entities) < page["metadata"]["total_matches"]:
            body = json.dumps({"kind": "network_security_rule", "offset": len(entities),
                               "length": 500}).encode()
            req = urllib.request.Request(
                f"https://127.0.0.1:{port}/api/nutanix/v3/network_security_rules/list", data=body,
                headers={"Content-Type": "application/json", "Authorization": auth})
            page = json.load(urllib.request.urlopen(req, context=ctx))
            if not page["entities"]:
                break
            entities += page["entities"]
        page["entities"] = entities
        page["metadata"].update(total_matches=len(entities), length=len(entities), offset=0)
        return page
    finally:
        proc.terminate()
        proc.wait()


def drift(page):
    for i, e in enumerate(page["entities"]):
        spec = e["spec"]
        if i % 50 == 0:
            spec["description"] = (spec.get("description") or "") + " (edited on the replica)"
        if i % 100 == 0:
            for rule in spec.get("resources", {}).values():
                for entry in rule.get("inbound_allow_list", []) if isinstance(rule, dict) else []:
                    for r in entry.get("tcp_port_range_list", []):
                        r["end_port"] = min(65535, r["end_port"] + 1000)
                        break
    return page


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    pcsim, policies, source, replica = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    with tempfile.TemporaryDirectory() as work:
        page = listing(pcsim, policies, work)
    with open(source, "w", encoding="utf-8") as f:
        json.dump(page, f)
    with open(replica, "w", encoding="utf-8") as f:
        json.dump(drift(page), f)


if __name__ == "__main__":
    main()
