#!/usr/bin/env python3
"""Run every example of README.md and docs/**/*.md, and check the documentation's links.

Usage (from anywhere; CI runs it from .ci/run after the Python package's tests):

    python3 .ci/docs_check.py --bin target/release/lstmcast --python .venv/bin/python [FILE.md ...]

What it runs. Every fenced block tagged ```sh, ```bash, ```console or ```python (Python 3
stdlib only here; the blocks need the interpreter given with --python, with lstmcast installed).
Blocks tagged anything else (```text for output, ```toml, ```rust, ```csv) are not run. Each
Markdown file gets a fresh scratch folder holding a copy of the repository's data/ folder; its
blocks run there one after another, from the top (so a page's later block may use what an earlier
one wrote, and a page never sees another page's files). Shell blocks run with
`bash -euo pipefail`, with `lstmcast` on PATH (the binary given with --bin) and a `cargo`
stand-in that runs `cargo run --release -p lstmcast-cli -- ARGS` as `lstmcast ARGS` and refuses
anything else (the build is CI's earlier step). A ```console block is run after stripping its
`$ ` prompts and dropping the lines without one (its output). Python blocks run as a script
with the --python interpreter, each on its own (a block must hold its imports).

Markers: HTML comments on the lines right before a block (several may stack):

    <!-- docs-check: skip REASON -->      do not run this block; REASON is required
    <!-- docs-check: expect PATH ... -->  after the block, each PATH (relative to the scratch
                                          folder) must exist and be non-empty
    <!-- docs-check: write PATH -->       write the block's text to PATH (any language, e.g. a
                                          ```toml config or a ```csv file a later block reads)
    <!-- docs-check: timeout SECONDS -->  this block's limit (default 300 s)

A block fails on a non-zero exit, on a time-out, or on a missing expected file; the failure names
the file and line of the block's opening fence and shows the end of its output. The check also
fails on an unknown marker, a skip without a reason, an untagged block in README.md (rustdoc
compiles the README as a doctest, so an untagged block would be compiled as Rust), a README that
lost either of its two commands, and a relative link or #anchor that points nowhere.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_LANGS = {"sh", "bash", "console", "python"}
DEFAULT_TIMEOUT = 300
# CI runs these two verbatim from the README (see .ci/run); they must stay there.
README_COMMANDS = [
    "cargo run --release -p lstmcast-cli -- train --data data/nottem.csv --horizon 12 --out runs/nottem --force",
    "cargo test --workspace --profile test-release",
]
MARKER = re.compile(r"^\s*<!--\s*docs-check:\s*(\w+)\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)(.*)$")

CARGO_STANDIN = """#!/usr/bin/env bash
# docs_check.py's stand-in for cargo: the examples' main-job form only, on the built binary.
if [ "${1:-}" = run ] && [ "${2:-}" = --release ] && [ "${3:-}" = -p ] && [ "${4:-}" = lstmcast-cli ] && [ "${5:-}" = -- ]; then
  shift 5
  exec lstmcast "$@"
fi
echo "docs-check: only 'cargo run --release -p lstmcast-cli -- ARGS' runs here (as 'lstmcast ARGS');" \\
     "mark this block '<!-- docs-check: skip REASON -->' if it needs cargo itself: cargo $*" >&2
exit 127
"""


@dataclass
class Block:
    path: Path  # the Markdown file
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    markers: list[tuple[str, str, int]] = field(default_factory=list)  # (name, argument, line)

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse(path: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a Markdown file with the markers right above each, and problems."""
    blocks, problems = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    pending: list[tuple[str, str, int]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line)
        if m:
            pending.append((m.group(1), m.group(2), i + 1))
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            indent, fence, lang = f.group(1), f.group(2), f.group(3).lower()
            body, j = [], i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
                j += 1
            if j == len(lines):
                problems.append(f"{path.relative_to(ROOT)}:{i + 1}: code block never closed")
            blocks.append(Block(path, i + 1, lang, "\n".join(body) + "\n", pending))
            pending = []
            i = j + 1
            continue
        if pending and line.strip():
            n, _, at = pending[0]
            problems.append(
                f"{path.relative_to(ROOT)}:{at}: marker 'docs-check: {n}' is not right before a code block"
            )
            pending = []
        i += 1
    for b in blocks:
        for name, arg, at in b.markers:
            where = f"{path.relative_to(ROOT)}:{at}"
            if name not in {"skip", "expect", "write", "timeout"}:
                problems.append(f"{where}: unknown marker 'docs-check: {name}' (skip, expect, write, timeout)")
            elif name == "skip" and not arg:
                problems.append(f"{where}: 'docs-check: skip' needs a reason, e.g. <!-- docs-check: skip needs a Ray cluster -->")
            elif name in {"expect", "write"} and not arg:
                problems.append(f"{where}: 'docs-check: {name}' needs a path")
            elif name == "timeout" and not arg.isdigit():
                problems.append(f"{where}: 'docs-check: timeout' needs a number of seconds")
            elif name == "expect" and b.lang not in RUN_LANGS:
                problems.append(f"{where}: 'docs-check: expect' on a ```{b.lang or '(untagged)'} block, which is not run")
    return blocks, problems


# ---------------------------------------------------------------------------------------------
# Links


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    h = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    h = h.strip().lower()
    h = re.sub(r"[^\w\- ]", "", h)  # keeps letters, digits, '_', '-', ' ' (unicode-aware)
    return h.replace(" ", "-")


def anchors(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        seen: dict[str, int] = {}
        out = set()
        in_code = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if FENCE.match(line):
                in_code = not in_code
                continue
            if in_code:
                continue
            m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                s = slug(m.group(1))
                n = seen.get(s, 0)
                seen[s] = n + 1
                out.add(s if n == 0 else f"{s}-{n}")
            for a in re.findall(r'<a\s+(?:name|id)="([^"]+)"', line):
                out.add(a)
        cache[path] = out
    return cache[path]


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def check_links(files: list[Path]) -> list[str]:
    problems, cache = [], {}
    for path in files:
        in_code = False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FENCE.match(line):
                in_code = not in_code
                continue
            if in_code:
                continue
            text = re.sub(r"`[^`]*`", "", line)  # links inside inline code are not links
            for target in LINK.findall(text):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
                    continue
                where = f"{path.relative_to(ROOT)}:{n}"
                file_part, _, anchor = target.partition("#")
                dest = (path.parent / file_part).resolve() if file_part else path
                if ROOT not in dest.parents and dest != ROOT:
                    problems.append(f"{where}: link '{target}' leaves the repository")
                    continue
                if not dest.exists():
                    problems.append(f"{where}: link '{target}': {dest.relative_to(ROOT)} does not exist")
                    continue
                if anchor and dest.suffix == ".md" and anchor not in anchors(dest, cache):
                    problems.append(
                        f"{where}: link '{target}': no heading with anchor #{anchor} in {dest.relative_to(ROOT)}"
                    )
    return problems


# ---------------------------------------------------------------------------------------------
# Running


def console_to_script(text: str) -> str:
    """A ```console block's commands: the lines after '$ ' (a trailing '\\' continues)."""
    out, cont = [], False
    for line in text.splitlines():
        if cont:
            out.append(line)
        elif line.startswith("$ "):
            out.append(line[2:])
        else:
            continue
        cont = line.endswith("\\")
    return "\n".join(out) + "\n"


def run_block(b: Block, cwd: Path, env: dict[str, str], python: str) -> tuple[bool, str, float]:
    timeout = DEFAULT_TIMEOUT
    for name, arg, _ in b.markers:
        if name == "timeout":
            timeout = int(arg)
    if b.lang == "python":
        script = cwd / f".docs-check-block-{b.line}.py"
        script.write_text(b.text, encoding="utf-8")
        cmd = [python, str(script)]
    else:
        text = console_to_script(b.text) if b.lang == "console" else b.text
        cmd = ["bash", "-euo", "pipefail", "-c", text]
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        ok = p.returncode == 0
        why = "" if ok else f"exit status {p.returncode}"
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        ok, why = False, f"timed out after {timeout} s (raise it with <!-- docs-check: timeout N -->)"
    secs = time.monotonic() - t0
    if ok:
        missing = [p for name, arg, _ in b.markers if name == "expect" for p in shlex.split(arg)
                   if not (cwd / p).exists() or ((cwd / p).is_file() and (cwd / p).stat().st_size == 0)]
        if missing:
            ok, why = False, "missing or empty expected output: " + ", ".join(missing)
    if not ok:
        tail = "\n".join(out.rstrip().splitlines()[-40:])
        return False, f"{b.where()}: ```{b.lang} block failed: {why}\n--- its output (last 40 lines) ---\n{tail}\n---", secs
    return True, "", secs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="the lstmcast binary (target/release/lstmcast)")
    ap.add_argument("--python", default=sys.executable, help="a Python with lstmcast installed")
    ap.add_argument("--links-only", action="store_true", help="check the links and markers, run nothing")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folders (their paths are printed)")
    ap.add_argument("files", nargs="*", help="Markdown files to check (default: README.md and docs/**/*.md)")
    a = ap.parse_args()

    every = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    files = [Path(f).resolve() for f in a.files] if a.files else every
    problems = check_links(every)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for c in README_COMMANDS:
        if c not in readme:
            problems.append(f"README.md: lost the command CI runs: {c}")
    parsed = []
    for f in files:
        blocks, probs = parse(f)
        problems += probs
        parsed.append((f, blocks))
        if f == ROOT / "README.md":
            problems += [f"{b.where()}: untagged code block in README.md (rustdoc would compile it as Rust; tag it, e.g. ```text)"
                         for b in blocks if not b.lang]
    if problems:
        print("docs-check: FAILED before running anything:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    if a.links_only:
        print(f"docs-check: links and markers of {len(every)} files fine")
        return 0

    lstmcast = Path(a.bin).resolve()
    if not os.access(lstmcast, os.X_OK):
        print(f"docs-check: {a.bin} is not an executable (build it: cargo build --release -p lstmcast-cli)", file=sys.stderr)
        return 1
    python = shutil.which(a.python) or a.python
    python = str(Path(python).absolute())
    scratch_root = Path(tempfile.mkdtemp(prefix="lstmcast-docs-check-"))
    bindir = scratch_root / "bin"
    bindir.mkdir()
    (bindir / "lstmcast").symlink_to(lstmcast)
    (bindir / "cargo").write_text(CARGO_STANDIN)
    (bindir / "cargo").chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["LSTMCAST_BIN"] = str(lstmcast)
    env.pop("LSTMCAST_NO_SIMD", None)

    t_start = time.monotonic()
    failures, ran, skipped = [], 0, []
    for f, blocks in parsed:
        if not any(b.lang in RUN_LANGS or any(m[0] == "write" for m in b.markers) for b in blocks):
            continue
        work = scratch_root / str(f.relative_to(ROOT)).replace(os.sep, "__")
        work.mkdir()
        shutil.copytree(ROOT / "data", work / "data")
        t_file = time.monotonic()
        for b in blocks:
            reason = next((arg for name, arg, _ in b.markers if name == "skip"), None)
            if reason is not None:
                if b.lang in RUN_LANGS:
                    skipped.append(f"{b.where()}: {reason}")
                continue
            for name, arg, _ in b.markers:
                if name == "write":
                    dest = work / arg
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_text(b.text, encoding="utf-8")
            if b.lang not in RUN_LANGS:
                continue
            ok, msg, secs = run_block(b, work, env, python)
            ran += 1
            print(f"  {'ok  ' if ok else 'FAIL'} {b.where()} ```{b.lang} ({secs:.1f} s)", flush=True)
            if not ok:
                failures.append(msg)
        print(f"{f.relative_to(ROOT)}: {time.monotonic() - t_file:.1f} s", flush=True)
    total = time.monotonic() - t_start
    if a.keep:
        print(f"scratch folders kept in {scratch_root}")
    else:
        shutil.rmtree(scratch_root, ignore_errors=True)
    print(f"docs-check: {ran} blocks run, {len(skipped)} skipped, {len(failures)} failed, {total:.1f} s")
    for s in skipped:
        print(f"  skipped {s}")
    if failures:
        print("\ndocs-check: FAILED", *failures, sep="\n\n", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
