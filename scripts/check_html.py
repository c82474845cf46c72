#!/usr/bin/env python3
"""Checks that an HTML file is well formed: every element opened is closed, in order, and
nothing is closed that was not opened (void elements aside). Used by the readiness report's
integration test; exit 0 well formed, 1 not (the first problem is printed)."""
import sys
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problem = [], None

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_endtag(self, tag):
        if self.problem:
            return
        if not self.stack or self.stack[-1][0] != tag:
            self.problem = f"line {self.getpos()[0]}: </{tag}> closes " + (
                f"<{self.stack[-1][0]}> opened at line {self.stack[-1][1][0]}" if self.stack else "nothing")
        else:
            self.stack.pop()


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    c = Checker()
    c.feed(text)
    c.close()
    if not c.problem and c.stack:
        c.problem = f"<{c.stack[-1][0]}> opened at line {c.stack[-1][1][0]} is never closed"
    if not text.lstrip().lower().startswith("<!doctype html>"):
        c.problem = c.problem or "no <!DOCTYPE html>"
    if c.problem:
        print(f"{sys.argv[1]}: {c.problem}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
