"""Load benchmark: N concurrent websocket players play whole games against the production stack on loopback.

bench/load/stack.py builds the stack in a temporary folder (a throwaway PostgreSQL database, Redis database 5,
migrations, a synthetic panorama set, a tiny checkpoint, the ASGI server and a `celery worker -Q inference`)
and tears it down afterwards. Then:

1. Players (asyncio, one HTTP session and one websocket each) start over --ramp-s seconds. Each takes a guest
   session (GET /api/session: session and CSRF cookies), creates a solo game of --rounds rounds, opens
   /ws/games/<id>, and per round: starts it, loads its image, thinks for a random --think-s time while the
   worker predicts, waits for the model_ready event (at most --model-timeout-s), and posts a guess, timed.
   A --duplicate-fraction of guesses is sent twice at once, as a double click would, and every guess that
   fails in transit is retried once: both must be answered 200 with the first guess, never stored twice.
2. Throughput: C clients (--hammer-concurrency) post guesses on rounds started beforehand, each a fresh guess
   (201, the full write path: row lock, insert, score, events on commit), and GET a bare Django JSON view
   (bench/load/asgi.py: same server, same middleware, no database) in interleaved windows; the ratio of the
   two request rates is reported.
3. The database is checked directly: every guess acknowledged with 201 is stored once with the coordinates
   sent, nothing is stored twice, and nothing is stored that no client was told about. Each finished game must
   also have received its four events per round (round_started, model_ready, player_guessed, round_complete),
   none carrying a location; the server's and worker's logs are scanned for errors and dropped events.

The stack runs the game's own settings, configured through the environment as a deployment would be
(bench/load/asgi.py adds only the bare view and error logging, not settings), with DATABASE_CONN_MAX_AGE=0 and
a one-thread worker, both explained in bench/README.md; --db-pool N (PLANET_DB_POOL), --layer-capacity N
(PLANET_CHANNEL_CAPACITY) and --server uvicorn --web-processes N try the deployment changes that README measures.

    .venv/bin/python -m bench.load                                   # the issue's goal: 500 players
    .venv/bin/python -m bench.load --players 20 --rounds 2 --think-s 1 3 --ramp-s 2 --hammer-seconds 2 \
        --hammer-rounds 200                                          # a one-minute smoke run
    .venv/bin/python -m bench.load --server uvicorn --web-processes 2 --db-pool 20 --layer-capacity 10000 \
        --json out.json                                              # the changes that meet the goal here

Traffic goes to 127.0.0.1 only; the run stops by itself (--duration-s caps the players' phase). Results and
the machine they were measured on: bench/README.md.
"""
