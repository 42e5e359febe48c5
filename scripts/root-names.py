#!/usr/bin/env python3
"""Lists the public names a crate's root shows in its rustdoc page, and counts them.

    cargo doc -p dagger --no-deps [--features dashboard]
    python3 scripts/root-names.py target/doc/dagger/index.html

Counts what a reader of the root page sees: re-exported crates, modules, macros, structs,
enums, traits, functions, types and constants (hidden re-exports do not show, so they do
not count).
"""
import re
import sys


def names(html):
    html = html.replace("<wbr>", "")
    start = html.find('<h2 id="reexports"')
    if start < 0:
        start = html.find('<h2 id="modules"')
    body = html[start:]
    out = []
    sections = re.findall(
        r'<h2 id="([a-z-]+)" class="section-header">.*?</h2><dl class="item-table[^"]*">(.*?)</dl>',
        body,
        re.S,
    )
    for sec, table in sections:
        for dt in re.findall(r"<dt[^>]*>(.*?)</dt>", table, re.S):
            if sec == "reexports":
                m = re.search(r" as ([A-Za-z_0-9]+);", dt) or re.search(r">([A-Za-z_0-9]+)</a>;", dt)
            else:
                m = re.search(r">([A-Za-z_0-9]+)</a>", dt)
            out.append((sec, m.group(1) if m else dt))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    found = names(open(sys.argv[1], encoding="utf-8").read())
    by = {}
    for sec, name in found:
        by.setdefault(sec, []).append(name)
    for sec, items in by.items():
        print(f"{sec} ({len(items)}): {' '.join(items)}")
    print(f"total {len(found)}")


if __name__ == "__main__":
    main()
