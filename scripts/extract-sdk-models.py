#!/usr/bin/env python3
"""Extracts facts about the Nutanix v4 API models from the public Go SDK into data files.

    python3 scripts/extract-sdk-models.py --git-dir SDK_GIT_DIR [--out DIR] [--check]

SDK_GIT_DIR is a clone (bare or not) of github.com/nutanix/ntnx-api-golang-clients. For each
(namespace, SDK commit) in SDKS, the Go files `<ns>-go-client/models/<package>/*_model.go` are
read with `git show` (no work tree needed) and the types reachable from the namespace's ROOTS
are written to DIR/<ns>-v4.<minor>.json (default DIR: tests/fixtures/v4-sdk):

  structs: qualified name -> {"objectType": $objectType set by NewX(), "fields": {json name ->
           descriptor, plus "required": true when the json tag has no omitempty}}
  enums:   qualified name -> wire values (GetName() list without "$UNKNOWN" and "$REDACTED")
  oneOfs:  qualified name -> member descriptors (oneOfTypeN fields, in order of N)

Descriptors: {"type": "string"|"boolean"|"integer"|"number"|"datetime"|"any"|"object"},
{"array": D}, {"map": D} (object whose values are D) or {"ref": qualified name}. Qualified
names are the Go package path with dots plus the Go type name ("microseg.v4.config.
NetworkSecurityPolicy", "microseg.v4.config.OneOfNetworkSecurityPolicyRuleSpec").
The output holds facts only (names, types, enums); no SDK code is copied. With --check nothing
is written: exit 1 when a file differs from what would be generated.
Exit 0 on success, 1 on a difference (--check), 2 when the SDK cannot be read or parsed.
Standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import deque

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPOSITORY = "https://github.com/nutanix/ntnx-api-golang-clients"
COMMAND = ("python3 scripts/extract-sdk-models.py --git-dir <clone of " + REPOSITORY +
           "> --out tests/fixtures/v4-sdk")
FORMAT = "flowdrift-v4-sdk-facts/1"
WIDTH = 100

# (namespace, SDK commit): one client release per API version v4.0 .. v4.3.
SDKS = [
    ("microseg", "2cc8627"), ("microseg", "535a156"), ("microseg", "159882b"),
    ("microseg", "2ede16f"),
    ("prism", "b9d895c"), ("prism", "72a6d21"), ("prism", "a63a9ac"), ("prism", "c1e9c8d"),
    ("networking", "a949474"), ("networking", "33f7cb9"), ("networking", "4495987"),
    ("networking", "1de247c"),
]


def _microseg_roots(entity):
    return [f"microseg.v4.config.List{entity}sApiResponse",
            f"microseg.v4.config.Get{entity}ApiResponse", f"microseg.v4.config.{entity}"]


def _write_roots(namespace, entity):
    """The answers to POST, PUT and DELETE of an entity (task references)."""
    return [f"{namespace}.v4.config.{verb}{entity}ApiResponse"
            for verb in ("Create", "Update", "Delete")]


# Types whose answers flowdrift reads; everything they reference is included. Optional roots
# are included only by the SDK versions that define them (entity groups: v4.1 and later).
ROOTS = {
    "microseg": ["microseg.v4.config.ListNetworkSecurityPoliciesApiResponse",
                 "microseg.v4.config.GetNetworkSecurityPolicyApiResponse",
                 "microseg.v4.config.NetworkSecurityPolicy"]
                + _microseg_roots("AddressGroup") + _microseg_roots("ServiceGroup")
                + _write_roots("microseg", "NetworkSecurityPolicy")
                + _write_roots("microseg", "AddressGroup") + _write_roots("microseg", "ServiceGroup"),
    "prism": ["prism.v4.config.ListCategoriesApiResponse", "prism.v4.config.GetCategoryApiResponse",
              "prism.v4.config.Category", "prism.v4.config.GetTaskApiResponse"]
             + _write_roots("prism", "Category"),
    "networking": ["networking.v4.config.ListVpcsApiResponse",
                   "networking.v4.config.GetVpcApiResponse", "networking.v4.config.Vpc"],
}
OPTIONAL_ROOTS = {"microseg": _microseg_roots("EntityGroup")}

PRIMITIVES = {"string": "string", "bool": "boolean", "int": "integer", "int32": "integer",
              "int64": "integer", "float32": "number", "float64": "number",
              "time.Time": "datetime", "interface{}": "any"}
ENVELOPE_FIELDS = {"$objectType", "$reserved", "$unknownFields"}  # on every struct, always allowed

IMPORT_RE = re.compile(r'^\s*(import\d+) "github\.com/nutanix/ntnx-api-golang-clients/'
                       r'[a-z]+-go-client/v4/models/([^"]+)"', re.M)
DECL_RE = re.compile(r"^type (\w+) (struct \{|int)$", re.M)
FIELD_RE = re.compile(r'^\t(\w+)\s+(\S+)\s+`json:"([^"]*)"`\s*$')
ONEOF_MEMBER_RE = re.compile(r"^oneOfType(\d+)$")


class SdkError(Exception):
    pass


class Sdk:
    """Reads one client of the SDK at one commit through git."""

    def __init__(self, git_dir, namespace, commit):
        self.git_dir = git_dir
        self.client = f"{namespace}-go-client"
        self.commit = self.git("rev-parse", "--verify", commit + "^{commit}").strip()
        self.paths_read = set()
        self.packages = {}

    def git(self, *args):
        try:
            return subprocess.run(["git", "--git-dir", self.git_dir, *args], check=True,
                                  capture_output=True, text=True).stdout
        except subprocess.CalledProcessError as e:
            raise SdkError(f"git {' '.join(args)}: {e.stderr.strip()}") from e

    def read(self, path):
        self.paths_read.add(path)
        return self.git("show", f"{self.commit}:{path}")

    def model_files(self, package):
        folder = f"{self.client}/models/{package}/"
        names = self.git("ls-tree", "--name-only", self.commit, folder).split()
        return sorted(n for n in names if n.endswith("_model.go"))

    def types(self, package):
        """{qualified name: (kind, facts)} of one Go package, parsed once."""
        if package not in self.packages:
            self.packages[package] = parse_package(self, package)
        return self.packages[package]


def qualify(package, name):
    return package.replace("/", ".") + "." + name


def package_of(qualified):
    return qualified.rpartition(".")[0].replace(".", "/")


def describe(go_type, package, imports):
    """The descriptor of a Go field type; references are qualified with the file's imports."""
    t = go_type.lstrip("*")
    if t.startswith("[]"):
        return {"array": describe(t[2:], package, imports)}
    if t == "map[string]interface{}":
        return {"type": "object"}
    if t.startswith("map[string]"):
        return {"map": describe(t[len("map[string]"):], package, imports)}
    if t in PRIMITIVES:
        return {"type": PRIMITIVES[t]}
    alias, _, name = t.rpartition(".")
    if alias and alias not in imports:
        raise SdkError(f"unknown import alias in type {go_type!r} ({package})")
    return {"ref": qualify(imports[alias] if alias else package, name)}


def refs_of(descriptor):
    """Every qualified name a descriptor references."""
    if "ref" in descriptor:
        yield descriptor["ref"]
    for key in ("array", "map"):
        if key in descriptor:
            yield from refs_of(descriptor[key])


def struct_body(text, start):
    end = text.find("\n}\n", start)
    return text[start:end].split("\n")


def field_lines(body):
    """(Go name, Go type, json tag) of each field line, skipping /* */ doc comments."""
    in_comment = False
    for line in body:
        stripped = line.strip()
        if stripped.startswith("/*"):
            in_comment = stripped == "/*" or not stripped.endswith("*/")
        elif stripped.endswith("*/"):
            in_comment = False
        elif not in_comment and (m := FIELD_RE.match(line)):
            yield m.groups()


def object_type(text, name):
    m = re.search(rf"^func New{name}\(\) \*{name} \{{\n(.*?)^\}}", text, re.M | re.S)
    found = m and re.search(r'\*p\.ObjectType_ = "([^"]+)"', m.group(1))
    return found.group(1) if found else None


def enum_values(text, name):
    get_name = rf"^func \(e {name}\) GetName\(\) string \{{"
    m = re.search(get_name + r".*?names := \[\.\.\.\]string\{(.*?)\}", text, re.M | re.S)
    if not m:
        raise SdkError(f"enum {name}: no GetName() names list")
    names = re.findall(r'"([^"]*)"', m.group(1))
    if names[:2] != ["$UNKNOWN", "$REDACTED"]:
        raise SdkError(f"enum {name}: names do not start with $UNKNOWN, $REDACTED: {names[:2]}")
    return names[2:]


def parse_struct(text, name, start, package, imports):
    fields, members = {}, []
    for go_name, go_type, tag in field_lines(struct_body(text, start)):
        json_name, *options = tag.split(",")
        if (m := ONEOF_MEMBER_RE.match(go_name)) and json_name == "-":
            members.append((int(m.group(1)), describe(go_type, package, imports)))
        elif json_name not in ENVELOPE_FIELDS and json_name != "-":
            field = describe(go_type, package, imports)
            if "omitempty" not in options:
                field["required"] = True
            fields[json_name] = field
    if name.startswith("OneOf") and members:
        return "oneOfs", [d for _, d in sorted(members, key=lambda m: m[0])]
    objtype = object_type(text, name) or qualify(package, name)
    return "structs", {"objectType": objtype, "fields": fields}


def parse_package(sdk, package):
    """{qualified name: (kind, facts)} of every struct, enum and oneOf in one Go package."""
    types = {}
    for path in sdk.model_files(package):
        text = sdk.read(path)
        imports = dict(IMPORT_RE.findall(text))
        for m in DECL_RE.finditer(text):
            name = m.group(1)
            if m.group(2) == "int":
                types[qualify(package, name)] = ("enums", enum_values(text, name))
            else:
                types[qualify(package, name)] = parse_struct(text, name, m.end(), package, imports)
    if not types:
        raise SdkError(f"{sdk.client}: no models in package {package}")
    return types


def descriptors_of(kind, facts):
    if kind == "structs":
        return facts["fields"].values()
    return facts if kind == "oneOfs" else []


def reachable(sdk, roots):
    """Facts of the roots and of everything they reference, by kind."""
    out = {"structs": {}, "enums": {}, "oneOfs": {}}
    queue, seen = deque(roots), set(roots)
    while queue:
        name = queue.popleft()
        if name not in sdk.types(package_of(name)):
            raise SdkError(f"{sdk.client}@{sdk.commit[:7]}: type {name} not found")
        kind, facts = sdk.types(package_of(name))[name]
        out[kind][name] = facts
        for ref in (r for d in descriptors_of(kind, facts) for r in refs_of(d)):
            if ref not in seen:
                seen.add(ref)
                queue.append(ref)
    return out


def versions(sdk, namespace):
    """(API version "v4.N", SDK product version) from the namespace's config model."""
    text = sdk.read(f"{sdk.client}/models/{namespace}/v4/config/config_model.go")
    product = re.search(r"Product version: (\S+)", text)
    api = set(re.findall(rf"API path /{namespace}/(v4\.\d+)/", text))
    if not product or len(api) != 1:
        raise SdkError(f"{sdk.client}@{sdk.commit[:7]}: cannot tell the versions "
                       f"(API paths {sorted(api)})")
    return api.pop(), product.group(1)


def licence(sdk):
    path = f"{sdk.client}/LICENSE.txt"
    text = sdk.read(path)
    if "Apache License" not in text or "Version 2.0" not in text:
        raise SdkError(f"{path}: not the Apache License 2.0")
    return f"Apache-2.0 ({path} at the commit)"


def extract(git_dir, namespace, commit):
    """(file name, document) for one SDK release."""
    sdk = Sdk(git_dir, namespace, commit)
    api, product = versions(sdk, namespace)
    optional = [r for r in OPTIONAL_ROOTS.get(namespace, []) if r in sdk.types(package_of(r))]
    roots = ROOTS[namespace] + optional
    doc = reachable(sdk, roots)
    doc["format"] = FORMAT
    doc["roots"] = roots
    doc["provenance"] = {
        "repository": REPOSITORY,
        "commit": sdk.commit,
        "commitSubject": sdk.git("log", "-1", "--format=%s", sdk.commit).strip(),
        "sdk": sdk.client,
        "sdkVersion": product,
        "apiVersion": api,
        "licence": licence(sdk),
        "pathsRead": sorted(sdk.paths_read),
        "generatedBy": COMMAND,
        "content": "facts only: names, types, enums; no code",
    }
    return f"{namespace}-{api}.json", doc


def render(value, indent=0, column=0):
    """JSON with sorted keys; a value that fits in WIDTH columns stays on one line."""
    compact = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if not isinstance(value, (dict, list)) or not value or column + len(compact) < WIDTH:
        return compact
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for name in sorted(value):
            key = pad + json.dumps(name, ensure_ascii=False) + ": "
            items.append(key + render(value[name], indent + 2, len(key)))
    else:
        items = [pad + render(v, indent + 2, len(pad)) for v in value]
    brackets = "{}" if isinstance(value, dict) else "[]"
    return brackets[0] + "\n" + ",\n".join(items) + "\n" + " " * indent + brackets[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--git-dir", required=True, help="clone of " + REPOSITORY)
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "v4-sdk"))
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    differs = []
    try:
        for namespace, commit in SDKS:
            name, doc = extract(args.git_dir, namespace, commit)
            path = os.path.join(args.out, name)
            text = render(doc) + "\n"
            if args.check:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        differs.append(path)
                continue
            os.makedirs(args.out, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"{path}: {len(doc['structs'])} structs, {len(doc['enums'])} enums, "
                  f"{len(doc['oneOfs'])} oneOfs")
    except (SdkError, OSError) as e:
        print(f"extract-sdk-models: {e}", file=sys.stderr)
        return 2
    for path in differs:
        print(f"{path}: differs from the SDK facts; regenerate it", file=sys.stderr)
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
