"""Engine benchmark: partition throughput, predictor overhead and training step rates on this machine.

Speed targets live here, never in unit tests. Every number is the median of repeated timings after a
warm-up; the predictor's bare-model and end-to-end timings are interleaved so that load drifting on a
shared machine hits both alike.

    .venv/bin/python -m bench.engine              # full run, ~2-3 minutes on a 2-core CPU (make bench)
    .venv/bin/python -m bench.engine --quick      # ~30 s smoke run (smaller sizes, lite0 only)
    .venv/bin/python -m bench.engine --json out.json

Results and the machine they were measured on: bench/README.md.
"""
