#!/usr/bin/env python3
"""Checks a page written by `saddle report`: every figure renders and is not blank.

Each inline <svg> is rendered to PNG by rsvg-convert (Debian's librsvg2-bin); the PNG is
decoded here (8-bit RGB or RGBA, non-interlaced, as rsvg-convert writes) and must have the
figure's size and enough non-white pixels inside its plot area to hold more than the frame.
Every experiment section must state its claim, protocol, departures and at least one verdict,
and the page must hold no NaN. Exits 1 naming each problem.

usage: check_report.py PAGE [--min-experiments N]
"""
import html
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path


def decode_png(data):
    """Width, height and rows of RGB(A) bytes of a non-interlaced 8-bit PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, color type {color}, interlace {interlace})")
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def inked(width, height, channels, rows, box):
    """Pixels inside box (x0, y0, x1, y1) that are neither white nor the frame's grey."""
    x0, y0, x1, y1 = box
    count = 0
    for y in range(max(0, y0), min(height, y1)):
        row = rows[y]
        for x in range(max(0, x0), min(width, x1)):
            r, g, b = row[x * channels:x * channels + 3]
            if channels == 4 and row[x * channels + 3] == 0:
                continue
            if max(r, g, b) - min(r, g, b) > 40:  # colored: a series, not the grey frame or guides
                count += 1
    return count


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    page = Path(args[0])
    minimum = int(args[args.index("--min-experiments") + 1]) if "--min-experiments" in args else 1
    text = page.read_text(encoding="utf-8")
    problems = []
    if re.search(r"\bnan\b", text, re.IGNORECASE):
        problems.append(f"{page}: the page holds NaN")
    sections = re.split(r"<h2 id=", text)[1:]
    if len(sections) < minimum:
        problems.append(f"{page}: {len(sections)} experiments, expected at least {minimum}")
    for section in sections:
        name = html.unescape(re.match(r'"([^"]+)"', section).group(1))
        for heading in ("The claim", "Protocol", "Departures from the paper", "Verdicts"):
            if f"<dt>{heading}</dt>" not in section:
                problems.append(f"{page}: experiment {name} has no \"{heading}\"")
        if not re.search(r'class="(pass|fail)"', section):
            problems.append(f"{page}: experiment {name} has no verdict")
    svgs = re.findall(r"<svg.*?</svg>", text, re.DOTALL)
    if not svgs:
        problems.append(f"{page}: no figures")
    with tempfile.TemporaryDirectory() as folder:
        for k, svg in enumerate(svgs):
            title = html.unescape(re.search(r'font-weight="bold">(.*?)</text>', svg).group(1)) if "font-weight" in svg else f"figure {k + 1}"
            source, target = Path(folder) / f"{k}.svg", Path(folder) / f"{k}.png"
            source.write_text(svg, encoding="utf-8")
            result = subprocess.run(["rsvg-convert", "-f", "png", "-o", str(target), str(source)], capture_output=True, text=True)
            if result.returncode != 0 or not target.exists():
                problems.append(f"figure {k + 1} ({title}): rsvg-convert failed: {result.stderr.strip()}")
                continue
            width, height, channels, rows = decode_png(target.read_bytes())
            declared = re.search(r'width="(\d+)" height="(\d+)"', svg)
            if (width, height) != (int(declared.group(1)), int(declared.group(2))):
                problems.append(f"figure {k + 1} ({title}): rendered {width}x{height}, declared {declared.group(1)}x{declared.group(2)}")
            # The plot area: 70 px from the left, 250 from the right, 34 from the top, 276 high.
            plotted = inked(width, height, channels, rows, (70, 34, width - 250, 310))
            if plotted < 30:
                problems.append(f"figure {k + 1} ({title}): the plot area is blank ({plotted} colored pixels)")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{page}: {len(sections)} experiments, {len(svgs)} figures rendered" + (f", {len(problems)} problems" if problems else ", all readable"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
