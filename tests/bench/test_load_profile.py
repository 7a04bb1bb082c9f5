"""bench/load's profile reader: py-spy's collapsed stacks become shares per frame and a flame graph."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from bench.load.profile import collapsed_read, flame_svg, top_frames
from bench.load.stack import ROOT


def test_collapsed_stacks_become_shares_per_frame_and_a_flame_graph(tmp_path: Path) -> None:
    raw = tmp_path / "web.txt"
    server = 'process 1:"uvicorn";run (/x/site-packages/uvicorn/main.py:10)'
    raw.write_text(
        f"{server};round_start ({ROOT}/gameserver/games/views.py:5);"
        f"view_encode ({ROOT}/gameserver/games/serving.py:40) 30\n"
        f"{server};round_start ({ROOT}/gameserver/games/views.py:7);"
        "wait (/x/site-packages/psycopg/connection.py:9) 10\n"
        f"{server} 60\n"
    )
    stacks = collapsed_read(raw)
    assert sum(stacks.values()) == 100
    # One function's samples count together whatever line they were on; library paths start at the package.
    assert {frame for stack in stacks for frame in stack} >= {
        "round_start (gameserver/games/views.py)",
        "run (uvicorn/main.py)",
        "wait (psycopg/connection.py)",
    }
    where = {f["frame"]: f for f in top_frames(stacks)}
    assert where["round_start (gameserver/games/views.py)"]["inclusive"] == 0.4
    assert where["view_encode (gameserver/games/serving.py)"]["self"] == 0.3
    assert "run (uvicorn/main.py)" not in where  # the "where" table holds the project's own frames
    innermost = top_frames(stacks, by="self")
    assert innermost[0] == {"frame": "run (uvicorn/main.py)", "inclusive": 1.0, "self": 0.6}
    svg = ElementTree.fromstring(flame_svg(stacks, "web"))
    titles = [element.text for element in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert "view_encode (gameserver/games/serving.py): 30.0%" in titles
