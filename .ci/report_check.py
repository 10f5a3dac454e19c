"""Opens report.html of a single-series run and of a panel run in headless Chromium (issue 28).

Usage: python3 .ci/report_check.py BIN OUT_DIR [--chromium PATH] [--panel-size N]

For each report it checks, in a real browser:
- no console message at all (the page logs nothing when it works; an uncaught error is one);
- every chart drawn: the page's script finished (<body data-ready="1">), each .chart element
  holds a uPlot canvas and drew points (data-points > 0), and the count of charts drawn
  (<body data-charts>) is the count of .chart elements;
- for the panel: #series=ID in the address selects that series (the same function the table's
  buttons call) and its chart and title show it;
- a screenshot that is not blank (decoded here with zlib: many distinct pixel values).
Screenshots are kept in OUT_DIR. Standard library only; Chromium must be installed (Debian's
`chromium`): without it the check fails and says so, never a silent skip.
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(msg):
    print(f"report check FAILED: {msg}", file=sys.stderr)
    sys.exit(1)


def chromium_path(given):
    for c in [given, "chromium", "chromium-browser", "google-chrome"]:
        if c and shutil.which(c):
            return shutil.which(c)
    fail("no Chromium found (install Debian's `chromium` package: apt-get install chromium)")


def browser(chrome, args, url, timeout=120, tries=3):
    """Runs headless Chromium once per try, each with a fresh profile.

    `--disable-dev-shm-usage` is passed here because Debian's launcher only adds it when its
    /dev/shm test works, and that test breaks where `findmnt` prints more than one mount (a CI
    machine did: "[: 25276194816: unexpected operator", then a SIGSEGV). A browser killed by a
    signal says nothing about the page, so it is tried again (up to `tries` times, each crash
    printed); an ordinary non-zero exit, or a crash on every try, fails the check.
    """
    for attempt in range(1, tries + 1):
        profile = tempfile.mkdtemp(prefix="report-check-profile-")
        cmd = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
               "--virtual-time-budget=5000"] + args + [url]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if p.returncode == 0:
            return p
        if p.returncode > 0 or attempt == tries:
            fail(f"chromium exited with {p.returncode} (try {attempt} of {tries}): {p.stderr[-2000:]}")
        print(f"report check: chromium was killed by signal {-p.returncode} (try {attempt} of "
              f"{tries}); trying again with a fresh profile", file=sys.stderr)


def console_messages(stderr):
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln]


def png_is_blank(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    distinct = len(set(raw[:: max(1, len(raw) // 200000)]))
    return width * height == 0 or distinct < 16, (width, height, distinct)


def check(chrome, name, page, out_dir, panel_series=None):
    url = "file://" + os.path.abspath(page)
    t0 = time.time()
    dom = browser(chrome, ["--dump-dom"], url)
    seconds = time.time() - t0
    msgs = console_messages(dom.stderr)
    if msgs:
        fail(f"{name}: console messages: {msgs[:5]}")
    html = dom.stdout
    if 'data-ready="1"' not in html:
        fail(f"{name}: the page's script did not finish")
    charts = re.findall(r'<div class="chart"[^>]*>', html)
    drawn = re.search(r'data-charts="(\d+)"', html)
    if not charts or not drawn or int(drawn.group(1)) != len(charts):
        fail(f"{name}: {len(charts)} chart elements, data-charts {drawn.group(1) if drawn else None}")
    for c in charts:
        pts = re.search(r'data-points="(\d+)"', c)
        if not pts or int(pts.group(1)) == 0:
            fail(f"{name}: a chart drew nothing: {c}")
    if html.count("<canvas") < len(charts):
        fail(f"{name}: {html.count('<canvas')} canvases for {len(charts)} charts")
    ms = re.search(r'data-ms="([\d.]+)"', html)
    if panel_series:
        chosen = browser(chrome, ["--dump-dom"], url + "#series=" + panel_series)
        if console_messages(chosen.stderr):
            fail(f"{name}: console messages after choosing a series: {console_messages(chosen.stderr)[:5]}")
        if f'data-series="{panel_series}"' not in chosen.stdout or f"Series {panel_series}<" not in chosen.stdout:
            fail(f"{name}: choosing series {panel_series} did not show its chart")
    shot = os.path.join(out_dir, f"{name}.png")
    browser(chrome, ["--window-size=1200,2000", f"--screenshot={shot}"], url)
    blank, (w, h, distinct) = png_is_blank(shot)
    if blank:
        fail(f"{name}: the screenshot {shot} is blank ({w}x{h}, {distinct} distinct values)")
    size = os.path.getsize(page)
    print(f"report check ok: {name}: {len(charts)} charts drawn, {size} bytes, opened in "
          f"{seconds:.2f} s (script {ms.group(1) if ms else '?'} ms), screenshot {shot} ({w}x{h})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("out")
    ap.add_argument("--chromium")
    args = ap.parse_args()
    chrome = chromium_path(args.chromium)
    os.makedirs(args.out, exist_ok=True)
    runs = {
        "single": ["--data", "data/nottem.csv", "--horizon", "12", "--normalize", "es"],
        "panel": ["--data", "data/weather_cities_daily.csv", "--id-col", "city",
                  "--target", "avg_temp_f", "--horizon", "7", "--epochs", "5"],
    }
    for name, a in runs.items():
        out = os.path.join(args.out, name)
        p = subprocess.run([args.bin, "train", *a, "--out", out, "--force", "--quiet"],
                           capture_output=True, text=True, cwd=ROOT)
        if p.returncode != 0:
            fail(f"{name}: train failed: {p.stderr}")
        check(chrome, name, os.path.join(out, "report.html"), args.out,
              panel_series="Mumbai" if name == "panel" else None)


if __name__ == "__main__":
    main()
