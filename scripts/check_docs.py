#!/usr/bin/env python3
"""Every public declaration in Sources/ has a /// documentation comment.

A declaration is public when its line (after attributes) starts with `public` or `open`
(extensions are not declarations of their own: their members are checked), and so is every
case of a public enum. Its comment is the
run of `///` lines right above it, attributes (`@discardableResult`, `@inlinable`, ...) and
`#if` lines in between allowed. Exit status 1 lists each undocumented declaration as
file:line: text.

    python3 scripts/check_docs.py [ROOT ...]   (default: Sources)
"""
import os
import re
import sys

DECLARATION = re.compile(r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:public|open)\b(?!\s+extension\b)(?!\s*\()")
ATTRIBUTE = re.compile(r"^\s*@[\w.]+(?:\(.*\))?\s*$")
CONDITIONAL = re.compile(r"^\s*#(if|elseif|else|endif)\b")


PUBLIC_ENUM = re.compile(r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:public|open)\s+(?:indirect\s+)?enum\b")
CASE = re.compile(r"^\s*(?:indirect\s+)?case\s+[A-Za-z_]")


def braces(line):
    """The change of brace depth on a line, ignoring string literals and // comments."""
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', line.split("//")[0])
    return code.count("{") - code.count("}")


def undocumented(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    found = []
    in_block_comment = False
    depth = 0
    enum_depths = []  # brace depths at which a public enum's cases are declared
    for index, line in enumerate(lines):
        stripped = line.strip()
        if in_block_comment:
            in_block_comment = "*/" not in stripped
            continue
        if stripped.startswith("/*") and "*/" not in stripped:
            in_block_comment = True
            continue
        opens_enum = bool(PUBLIC_ENUM.match(line))
        is_case = bool(enum_depths) and depth == enum_depths[-1] and CASE.match(line) and '"""' not in line
        change = braces(line)
        depth += change
        if opens_enum and change > 0:  # an enum written on one line has no case lines of its own
            enum_depths.append(depth)
        while enum_depths and depth < enum_depths[-1]:
            enum_depths.pop()
        if not (DECLARATION.match(line) or is_case):
            continue
        above = index - 1
        while above >= 0 and (ATTRIBUTE.match(lines[above]) or CONDITIONAL.match(lines[above])):
            above -= 1
        if above < 0 or not lines[above].strip().startswith("///"):
            found.append((path, index + 1, stripped))
    return found


def main(roots):
    problems = []
    count = 0
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in sorted(names):
                if name.endswith(".swift"):
                    path = os.path.join(folder, name)
                    count += 1
                    problems += undocumented(path)
    for path, line, text in sorted(problems):
        print(f"{path}:{line}: {text[:120]}")
    if problems:
        print(f"{len(problems)} public declarations without a /// comment in {count} files", file=sys.stderr)
        return 1
    print(f"every public declaration in {count} files has a /// comment")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["Sources"]))
