"""bench/load's profiler: py-spy samples the web server's processes and the inference worker while the players
play, then each process group's samples become a flame graph (SVG) and a table of the frames that hold them.

py-spy (pinned in requirements.txt) attaches to the running processes by pid (`record --pid P --subprocesses`:
uvicorn's worker processes, the worker's pool) and writes collapsed stacks, one "frame;frame;... count" line per
distinct stack; the SVG is drawn here from those lines, so no Perl flamegraph script is needed.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.load.stack import ROOT, Stack, say

SAMPLE_RATE_HZ = 50  # low enough that the sampler itself costs little of a 2-core box
TOP_FRAMES = 20
SVG_WIDTH = 1200
ROW_HEIGHT = 16
# py-spy's frame label: "function (path/to/file.py:line)"; the line number is dropped so that one function's
# samples count together.
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if path.startswith(f"{ROOT}{os.sep}"):
            path = os.path.relpath(path, ROOT)
    return f"{match['function']} ({path})"


def collapsed_read(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw output -> {stack (root first, process and thread labels included): samples}."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(frame_name(frame) for frame in stack.split(";"))] += int(count)
    return stacks


# Frames of the project itself, and the library calls that say where a request's time goes (a thread hop, a
# database wait, the network forward): the "where" table lists only these, the "self" table every frame.
WHERE_FRAMES = (
    "(gameserver/",
    "(planet_engine/",
    "Session.run (",
    "SyncToAsync.__call__ (",
    "AsyncToSync.__call__ (",
    "Connection.wait (psycopg",
    "Runner.run (asyncio",
)


def top_frames(
    stacks: Counter[tuple[str, ...]], limit: int = TOP_FRAMES, *, by: str = "inclusive"
) -> list[dict[str, Any]]:
    """The frames holding the most samples, as shares of all the group's samples: inclusive (anywhere on the
    stack, once per stack) and self (the innermost frame). by="inclusive": the WHERE_FRAMES only, by their
    inclusive share; by="self": every frame, by its self share."""
    total = sum(stacks.values()) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, count in stacks.items():
        for frame in set(stack):
            inclusive[frame] += count
        own[stack[-1]] += count
    ranked = inclusive.most_common() if by == "inclusive" else own.most_common()
    return [
        {"frame": frame, "inclusive": round(inclusive[frame] / total, 3), "self": round(own[frame] / total, 3)}
        for frame, _ in ranked
        if by == "self" or any(marker in frame for marker in WHERE_FRAMES)
    ][:limit]


def flame_svg(stacks: Counter[tuple[str, ...]], title: str) -> str:
    """An icicle flame graph (root at the top): each frame's width is its share of the samples; hover for the
    name and the share."""
    total = sum(stacks.values())
    tree: dict[str, Any] = {"count": 0, "children": {}}
    for stack, count in stacks.items():
        node = tree
        node["count"] += count
        for frame in stack:
            node = node["children"].setdefault(frame, {"count": 0, "children": {}})
            node["count"] += count
    rects: list[str] = []
    depth_max = 0

    def draw(node: dict[str, Any], x: float, depth: int) -> None:
        nonlocal depth_max
        for frame, child in sorted(node["children"].items()):
            width = SVG_WIDTH * child["count"] / total
            if width >= 0.5:
                depth_max = max(depth_max, depth)
                share = child["count"] / total
                hue = 10 + (hash(frame.split(" (")[-1]) % 50)
                label = html.escape(frame if width > 7 * len(frame) else frame[: max(0, int(width / 7) - 2)] + "..")
                y = 24 + depth * ROW_HEIGHT
                rects.append(
                    f'<g><title>{html.escape(frame)}: {share:.1%}</title><rect x="{x:.1f}" y="{y}" '
                    f'width="{width:.1f}" height="{ROW_HEIGHT - 1}" fill="hsl({hue},80%,60%)"/>'
                    + (f'<text x="{x + 2:.1f}" y="{y + 11}">{label}</text>' if width > 21 else "")
                    + "</g>"
                )
                draw(child, x, depth + 1)
            x += width

    draw(tree, 0.0, 0)
    height = 24 + (depth_max + 1) * ROW_HEIGHT + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<text x="4" y="15" font-size="13">{html.escape(title)} ({total} samples)</text>' + "".join(rects) + "</svg>"
    )


class Profiler:
    """py-spy on every process group of the stack while the `with` body runs; `results()` afterwards."""

    def __init__(self, stack: Stack, folder: Path) -> None:
        self.stack = stack
        self.folder = folder
        self.samplers: dict[str, subprocess.Popen[bytes]] = {}
        self.executable = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")

    def __enter__(self) -> Profiler:
        if self.executable is None:
            raise SystemExit("--profile needs py-spy: pip install -r requirements.txt")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self.stack.process_groups().items():
            self.samplers[name] = subprocess.Popen(
                [
                    self.executable,
                    "record",
                    "--pid",
                    str(pid),
                    "--subprocesses",
                    "--format",
                    "raw",
                    "--rate",
                    str(SAMPLE_RATE_HZ),
                    "--nonblocking",
                    "--output",
                    str(self.folder / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        say(f"py-spy recording {', '.join(self.samplers)} into {self.folder}")
        return self

    def __exit__(self, *_: object) -> None:
        for name, sampler in self.samplers.items():
            sampler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                sampler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                sampler.kill()
                say(f"py-spy on {name} did not stop: killed")

    def results(self) -> dict[str, Any]:
        """{group: {samples, svg, top frames}}; also writes <group>.svg and top-frames.md into the folder."""
        found: dict[str, Any] = {}
        table = ["# Top frames (share of each process group's samples)", ""]
        for name in self.samplers:
            raw = self.folder / f"{name}.txt"
            if not raw.is_file():
                found[name] = {"error": "py-spy wrote nothing"}
                continue
            stacks = collapsed_read(raw)
            svg = self.folder / f"{name}.svg"
            svg.write_text(flame_svg(stacks, f"{name}: py-spy at {SAMPLE_RATE_HZ} Hz"))
            frames = {by: top_frames(stacks, by=by) for by in ("inclusive", "self")}
            found[name] = {"samples": sum(stacks.values()), "svg": str(svg), "top_frames": frames}
            for by, title in (
                ("inclusive", "where the time goes (project code, thread hops, waits)"),
                ("self", "innermost frames"),
            ):
                table += [
                    f"## {name}: {title} ({found[name]['samples']} samples)",
                    "",
                    "| frame | inclusive | self |",
                    "| --- | --- | --- |",
                ]
                table += [f"| `{f['frame']}` | {f['inclusive']:.1%} | {f['self']:.1%} |" for f in frames[by]]
                table.append("")
        (self.folder / "top-frames.md").write_text("\n".join(table))
        return found
