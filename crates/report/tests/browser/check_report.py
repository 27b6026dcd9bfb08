#!/usr/bin/env python3
"""Render a learnscope HTML report in headless Chromium and check it.

Usage:
    check_report.py REPORT.html EXPECTED_FIGURES
    check_report.py --self-test

Python 3 standard library only (no PIL, no selenium). Chromium (Debian package
`chromium`, or the binary named by $CHROMIUM) is started for each check with
exactly

    --headless --no-sandbox --disable-gpu --no-first-run
    --disable-background-networking --user-data-dir=<fresh temporary dir>
    --enable-logging=stderr --v=0

plus either `--dump-dom` or `--screenshot=PATH --window-size=1400,2000`. Each
Chromium call is killed (its whole process group) after 60 s.

Three checks, all of which must pass:

1. No console messages from the page. With --enable-logging=stderr Chromium
   writes every console message of the page to stderr as
   `[...:INFO:CONSOLE:1] "message", source: URL (1)` (older builds:
   `INFO:CONSOLE(1)]`). Chromium logs every level (log, warning, error) as
   INFO there, so the level cannot be told apart; the report has no
   scripts, so *any* page console message counts as an error. This catches
   uncaught JavaScript errors ("Uncaught ..."), console.error calls, and the
   errors Blink reports for bad inline SVG such as
   `Error: <path> attribute d: Expected number, "M 0 0 L foo".` or a
   negative width. Only stderr lines containing `:CONSOLE` or `Uncaught` are
   considered; all other stderr output (dbus, GPU/vaapi, sandbox warnings,
   the launcher's shell noise) is ignored.
2. The number of rendered figures - `<figure>` elements in the DOM dumped by
   --dump-dom that contain an `<svg>` descendant - equals EXPECTED_FIGURES
   exactly.
3. The screenshot (1400x2000 viewport) is not blank: the PNG is decoded with
   zlib + struct (IHDR, concatenated IDAT, inflate, undo the per-row filters
   for 8-bit RGB / RGBA, non-interlaced) and at least 1 % of its pixels must
   differ from the most common colour (the background).

Exit status: 0 all checks passed (one summary line is printed); 1 a check
failed (each failure is printed); 2 Chromium is not installed or a usage
error.

--self-test writes small pages to a temporary directory (a good page, a page
with console.error and an uncaught JS error, a page with broken inline SVG
attributes, a blank page, and a figure-count mismatch), checks each, and
verifies that exactly the expected problems are reported; it also round-trips
a synthetic PNG that uses all five filter types through the decoder.
"""

import collections
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

TIMEOUT_S = 60
WINDOW = (1400, 2000)
MIN_NON_BACKGROUND = 0.01  # fraction of pixels that must differ from the background
BASE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
LOG_FLAGS = ["--enable-logging=stderr", "--v=0"]
CONSOLE_RE = re.compile(r":CONSOLE[:(]|Uncaught")
LOG_PREFIX_RE = re.compile(r"^\[[^\]]*:(?=CONSOLE)")  # "[4101:4101:1123/130005.43:INFO:" 
INSTALL_HINT = (
    "chromium is not installed. On Debian/Ubuntu: "
    "sudo apt-get install -y chromium   (or set CHROMIUM=/path/to/chromium)"
)


class CheckError(Exception):
    pass


# --------------------------------------------------------------------------
# Chromium


def find_chromium():
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return shutil.which(explicit)
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(chromium, url, extra, workdir):
    """Run one headless Chromium call; return (returncode, stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    out_path = os.path.join(workdir, "stdout.txt")
    err_path = os.path.join(workdir, "stderr.txt")
    cmd = [chromium] + BASE_FLAGS + ["--user-data-dir=" + profile] + LOG_FLAGS + extra + [url]
    # stdout/stderr go to files, not pipes: helper processes that outlive the
    # browser would otherwise keep a pipe open and block the read.
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        try:
            rc = proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            raise CheckError(
                "chromium timed out after %d s: %s" % (TIMEOUT_S, " ".join(cmd))
            )
        finally:
            _kill_group(proc.pid)  # leftover helpers of this call only
    stdout = Path(out_path).read_text(errors="replace")
    stderr = Path(err_path).read_text(errors="replace")
    shutil.rmtree(profile, ignore_errors=True)
    if rc != 0:
        tail = "\n".join(stderr.splitlines()[-15:])
        raise CheckError("chromium exited with status %d: %s\n%s" % (rc, " ".join(cmd), tail))
    return rc, stdout, stderr


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def console_messages(stderr):
    """Page console messages in Chromium's stderr, without the [pid:tid:time:...] prefix."""
    out = []
    for line in stderr.splitlines():
        if CONSOLE_RE.search(line):
            out.append(LOG_PREFIX_RE.sub("", line.strip()))
    return out


# --------------------------------------------------------------------------
# DOM


class FigureCounter(HTMLParser):
    """Counts <figure> elements and those with an <svg> descendant."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # one flag per open <figure>: has an <svg> inside
        self.figures = 0
        self.with_svg = 0

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self.stack.append(False)
        elif tag == "svg" and self.stack:
            self.stack[-1] = True

    def handle_endtag(self, tag):
        if tag == "figure" and self.stack:
            self._close()

    def _close(self):
        has_svg = self.stack.pop()
        self.figures += 1
        if has_svg:
            self.with_svg += 1
            if self.stack:
                self.stack[-1] = True

    def finish(self):
        self.close()
        while self.stack:
            self._close()
        return self.figures, self.with_svg


def count_figures(dom):
    counter = FigureCounter()
    counter.feed(dom)
    return counter.finish()


# --------------------------------------------------------------------------
# PNG


def _paeth(a, b, c):
    p = a + b - c
    pa = abs(p - a)
    pb = abs(p - b)
    pc = abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


def _add_bytes(x, y, n):
    """Bytewise (x + y) mod 256 of two n-byte strings, done on big integers."""
    if n == 0:
        return b""
    hi = int.from_bytes(b"\x80" * n, "big")
    lo = hi ^ int.from_bytes(b"\xff" * n, "big")
    a = int.from_bytes(x, "big")
    b = int.from_bytes(y, "big")
    s = ((a & lo) + (b & lo)) ^ ((a ^ b) & hi)
    return s.to_bytes(n, "big")


def decode_png(data):
    """Return (width, height, channels, list of row bytes) for 8-bit RGB/RGBA PNGs."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckError("screenshot is not a PNG file")
    pos = 8
    ihdr = None
    idat = []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
    if ihdr is None or not idat:
        raise CheckError("screenshot PNG has no IHDR or IDAT chunk")
    width, height, depth, colour, _comp, _filt, interlace = ihdr
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace != 0:
        raise CheckError(
            "unsupported screenshot PNG (bit depth %d, colour type %d, interlace %d); "
            "only 8-bit RGB/RGBA, non-interlaced" % (depth, colour, interlace)
        )
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise CheckError("screenshot PNG data has the wrong length")
    bpp = channels
    prev = bytes(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = raw[start + 1 : start + 1 + stride]
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = _add_bytes(line, prev, stride)
        elif ftype in (1, 3, 4):
            cur = bytearray(line)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                if ftype == 1:
                    cur[i] = (cur[i] + a) & 0xFF
                elif ftype == 3:
                    cur[i] = (cur[i] + ((a + prev[i]) >> 1)) & 0xFF
                else:
                    c = prev[i - bpp] if i >= bpp else 0
                    cur[i] = (cur[i] + _paeth(a, prev[i], c)) & 0xFF
            cur = bytes(cur)
        else:
            raise CheckError("screenshot PNG row %d has unknown filter type %d" % (y, ftype))
        rows.append(cur)
        prev = cur
    return width, height, channels, rows


def non_background_fraction(width, height, channels, rows):
    counts = collections.Counter()
    for row in rows:
        counts.update(zip(*(row[k::channels] for k in range(channels))))
    _background, n = counts.most_common(1)[0]
    total = width * height
    return (total - n) / total


# --------------------------------------------------------------------------
# The check


def check(chromium, html_path, expected):
    """Return (problems, summary). problems is a list of strings."""
    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise CheckError("no such file: %s" % html_path)
    url = html_path.as_uri()
    problems = []
    workdir = tempfile.mkdtemp(prefix="learnscope-browser-check-")
    try:
        _, dom, err1 = run_chromium(chromium, url, ["--dump-dom"], workdir)
        shot = os.path.join(workdir, "screenshot.png")
        _, _, err2 = run_chromium(
            chromium,
            url,
            ["--screenshot=" + shot, "--window-size=%d,%d" % WINDOW],
            workdir,
        )
        console = []
        for line in console_messages(err1) + console_messages(err2):
            if line not in console:
                console.append(line)
        if console:
            problems.append(
                "%d console message(s) from the page:\n  %s" % (len(console), "\n  ".join(console))
            )

        figures, with_svg = count_figures(dom)
        if with_svg != expected:
            problems.append(
                "figure count mismatch: expected %d, rendered %d <figure> elements with an <svg> "
                "(%d <figure> elements in all)" % (expected, with_svg, figures)
            )

        if not os.path.isfile(shot):
            problems.append("chromium wrote no screenshot")
            return problems, None
        w, h, ch, rows = decode_png(Path(shot).read_bytes())
        frac = non_background_fraction(w, h, ch, rows)
        if frac < MIN_NON_BACKGROUND:
            problems.append(
                "screenshot %d\u00d7%d looks blank: %.3f %% of pixels differ from the most common "
                "colour (need at least %.0f %%)" % (w, h, 100 * frac, 100 * MIN_NON_BACKGROUND)
            )
        summary = (
            "browser check: %d figures, no console errors, screenshot %d\u00d7%d with %.1f %% "
            "non-background pixels" % (with_svg, w, h, 100 * frac)
        )
        return problems, summary
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------
# Self-test

GOOD_FIGURE = (
    '<figure><svg xmlns="http://www.w3.org/2000/svg" width="600" height="300" '
    'viewBox="0 0 600 300"><rect x="10" y="10" width="580" height="280" fill="#3060c0"/>'
    '<path d="M 20 280 L 300 40 L 580 200" stroke="#c03020" stroke-width="6" fill="none"/>'
    "</svg><figcaption>figure</figcaption></figure>"
)
PAGES = {
    "good": "<h1>Report</h1>" + GOOD_FIGURE * 2,
    "console": "<h1>Report</h1>"
    + GOOD_FIGURE * 2
    + '<script>console.error("deliberate console error"); undefinedFunction();</script>',
    "bad_svg": "<h1>Report</h1>"
    + GOOD_FIGURE
    + '<figure><svg width="-5" height="100" viewBox="0 0 abc">'
    '<path d="M 0 0 L foo" stroke="black"/></svg></figure>',
    "blank": "<figure><svg width='10' height='10'></svg></figure><figure><svg></svg></figure>",
}
# name -> (expected figures argument, substrings that must appear in the problems,
#          problem kinds expected)
CASES = [
    ("good", 2, [], set()),
    ("console", 2, ["deliberate console error", "Uncaught ReferenceError"], {"console"}),
    ("bad_svg", 2, ["attribute d", "negative value", "attribute viewBox"], {"console"}),
    ("blank", 2, ["looks blank"], {"blank"}),
    ("good", 3, ["expected 3, rendered 2"], {"count"}),
]


def _kind(problem):
    if "console message" in problem:
        return "console"
    if "figure count mismatch" in problem:
        return "count"
    if "looks blank" in problem:
        return "blank"
    return "other"


def _encode_png(width, height, channels, pixels):
    """Minimal PNG encoder cycling through all five filter types (for the self-test)."""
    stride = width * channels
    prev = bytes(stride)
    out = bytearray()
    for y in range(height):
        row = pixels[y * stride : (y + 1) * stride]
        ftype = y % 5
        enc = bytearray()
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            pred = [0, a, b, (a + b) >> 1, _paeth(a, b, c)][ftype]
            enc.append((row[i] - pred) & 0xFF)
        out.append(ftype)
        out += enc
        prev = row

    def chunk(t, body):
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body))

    colour = {3: 2, 4: 6}[channels]
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(out)))
        + chunk(b"IEND", b"")
    )


def self_test(chromium):
    failures = []
    # PNG decoder round trip, every filter type, RGB and RGBA.
    for channels in (3, 4):
        w, h = 7, 11
        pixels = bytes((x * 37 + y * 91 + k * 53 + x * y) & 0xFF
                       for y in range(h) for x in range(w) for k in range(channels))
        got = decode_png(_encode_png(w, h, channels, pixels))
        if got[:3] != (w, h, channels) or b"".join(got[3]) != pixels:
            failures.append("PNG decoder round trip failed for %d channels" % channels)
    print("self-test: PNG decoder round trip (filters 0-4, RGB and RGBA): %s"
          % ("FAIL" if failures else "ok"))

    tmp = tempfile.mkdtemp(prefix="learnscope-browser-selftest-")
    try:
        for name, body in PAGES.items():
            Path(tmp, name + ".html").write_text(
                "<!DOCTYPE html><html><head><meta charset='utf-8'><title>%s</title></head>"
                "<body>%s</body></html>" % (name, body),
                encoding="utf-8",
            )
        for name, expected, needles, kinds in CASES:
            problems, _summary = check(chromium, os.path.join(tmp, name + ".html"), expected)
            text = "\n".join(problems)
            got_kinds = {_kind(p) for p in problems}
            missing = [n for n in needles if n not in text]
            ok = got_kinds == kinds and not missing
            label = "%s page, N=%d" % (name, expected)
            print("self-test: %-20s %s -> %s" % (
                label, "ok" if ok else "FAIL",
                "; ".join(p.splitlines()[0] for p in problems) or "passes"))
            if not ok:
                failures.append("%s: expected problems %s containing %s, got:\n%s"
                                % (label, sorted(kinds), needles, text or "(none)"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return failures


# --------------------------------------------------------------------------


def main(argv):
    usage = "usage: check_report.py REPORT.html EXPECTED_FIGURES | check_report.py --self-test"
    chromium = find_chromium()
    if len(argv) == 2 and argv[1] == "--self-test":
        if not chromium:
            print("browser check: " + INSTALL_HINT, file=sys.stderr)
            return 2
        t0 = time.monotonic()
        try:
            failures = self_test(chromium)
        except CheckError as e:
            failures = [str(e)]
        for f in failures:
            print("browser self-test FAILED: " + f, file=sys.stderr)
        if failures:
            return 1
        print("browser self-test: all cases detected as expected (%.1f s)" % (time.monotonic() - t0))
        return 0
    if len(argv) != 3:
        print(usage, file=sys.stderr)
        return 2
    try:
        expected = int(argv[2])
    except ValueError:
        print("EXPECTED_FIGURES must be an integer, got %r\n%s" % (argv[2], usage), file=sys.stderr)
        return 2
    if not chromium:
        print("browser check: " + INSTALL_HINT, file=sys.stderr)
        return 2
    try:
        problems, summary = check(chromium, argv[1], expected)
    except CheckError as e:
        problems, summary = [str(e)], None
    if problems:
        for p in problems:
            print("browser check FAILED (%s): %s" % (argv[1], p), file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
