"""What a web process costs to start: Django set up, the URLs and the ASGI application loaded (every view module,
the admin's included), in a fresh interpreter; its wall time, peak resident memory and whether the model
runtimes (torch, ONNX Runtime) came along. `.venv/bin/python -m bench.web_process [--runs N]`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """import json, os, resource, sys, time
os.environ['DJANGO_SETTINGS_MODULE'] = 'gameserver.settings'
started = time.perf_counter()
import django
django.setup()
import gameserver.asgi, gameserver.urls
from django.urls import get_resolver
get_resolver().url_patterns
print(json.dumps({'seconds': time.perf_counter() - started,
                  'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  'runtimes': sorted(m for m in ('torch', 'onnxruntime') if m in sys.modules)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    results = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", CHILD], cwd=ROOT, env=environment, capture_output=True, text=True
        )
        out.check_returncode()
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = sorted(result["seconds"] for result in results)
    peak = max(result["peak_mb"] for result in results)
    print(
        f"a web process's start, {runs} runs: {seconds[len(seconds) // 2]:.2f} s median "
        f"({seconds[0]:.2f}–{seconds[-1]:.2f}), peak resident {peak:.0f} MB, "
        f"model runtimes imported: {results[-1]['runtimes'] or 'none'}; load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
