"""bench/load's goals and its one-screen summary of a run."""

from __future__ import annotations

from collections import Counter
from typing import Any

GOAL_PLAYERS = 500
GOAL_P95_MS = 200.0


def ms(stats: dict[str, float | int], key: str) -> str:
    return f"{stats[key]:.0f}" if key in stats else "-"


def report(results: dict[str, Any]) -> str:
    args, play, db, cpu = results["arguments"], results["play"], results["database"], results["cpu_play"]
    connections = play["postgres_connections"]
    guess = results["latency_ms"].get("guess", {"n": 0})
    lines = [
        f"load benchmark: {args['players']} players x {args['rounds']} rounds, think {args['think_s'][0]:g}-"
        f"{args['think_s'][1]:g} s, ramp {args['ramp_s']:g} s; {results['environment']['server']} + solo "
        f"inference worker, PostgreSQL, Redis; {results['environment']['cpu_count']} CPUs; "
        f"{results['seconds']:.0f} s in all",
        "",
        f"players      {play['started']} started, peak {play['peak_connected']} connected at once "
        f"(all {play['players']} for {play['all_connected_s']:g} s), {play['finished']} finished, "
        f"{play['cut_by_cap']} cut by the {args['duration_s']:g} s cap",
        f"guesses      {play['rounds_guessed']} rounds guessed in {play['seconds']:.0f} s; "
        f"{db['repeats_answered_200']} repeated submissions answered 200",
        f"latency      guess POST p50 {ms(guess, 'p50')} / p95 {ms(guess, 'p95')} / p99 {ms(guess, 'p99')} / "
        f"max {ms(guess, 'max')} ms (n={guess['n']})   goal p95 < {GOAL_P95_MS:.0f} ms: "
        f"{'PASS' if results['goals']['p95'] else 'FAIL'}",
    ]
    for endpoint in ("start", "image", "create", "session", "summary"):
        stats = results["latency_ms"].get(endpoint)
        if stats and stats["n"]:
            lines.append(
                f"             {endpoint:<8} p50 {ms(stats, 'p50')} / p95 {ms(stats, 'p95')} / "
                f"p99 {ms(stats, 'p99')} ms (n={stats['n']})"
            )
    statuses = db["served_rounds_by_model_status"]
    ready_s = play["model_ready_s"]
    lines += [
        f"model        {play['model_ready_in_time']} rounds model_ready in time, {play['model_wait_timeouts']} "
        f"waits over {args['model_timeout_s']:g} s; start -> model_ready p50 {ready_s.get('p50', '-')} s, "
        f"p95 {ready_s.get('p95', '-')} s (server: served -> committed p95 "
        f"{db['served_to_model_committed_s'].get('p95', '-')} s); served rounds by status {statuses}",
        f"integrity    {db['stored_guesses']} stored, {db['acknowledged']} acknowledged (201): lost {db['lost']}, "
        f"duplicated {db['duplicated_rows'] + db['duplicated_201s']}, altered {db['altered']}, answers not "
        f"matching the first guess {db['repeat_mismatches']}, stored unacknowledged {db['unacknowledged']}; "
        f"socket frames with a location {play['location_frames']}: "
        f"{'PASS' if results['goals']['integrity'] else 'FAIL'}",
        f"             {db['play_guesses_model_committed_first']} of {db['play_guesses']} players' guesses "
        "locked after the model's guess (counted in the benchmark)",
        f"events       {play['events_missing']} of {play['events_expected']} websocket events had not arrived when "
        f"their player left (5 s after its last guess); received {play['events']}",
    ]
    errors = results["errors"]
    lines.append(
        f"errors       {sum(errors.values())}"
        + ("" if not errors else ": " + "; ".join(f"{name} x{count}" for name, count in Counter(errors).most_common(6)))
    )
    throughput = results.get("throughput")
    if throughput:
        clients_out = (
            f"; {throughput['ran_out']} clients ran out of started rounds in a window" if throughput["ran_out"] else ""
        )
        lines.append(
            f"throughput   guess POST (fresh 201s) {throughput['guess_requests_per_s']:.0f} req/s vs bare "
            f"Django JSON view {throughput['bare_requests_per_s']:.0f} req/s: ratio "
            f"{throughput['ratio']:.2f} ({throughput['clients']} clients, 2 x {args['hammer_seconds']:g} s "
            f"each, interleaved{clients_out})"
        )
    lines += [
        f"CPU (cores)  while playing: web {cpu.get('web', 0):.2f}, worker {cpu.get('worker', 0):.2f}, client "
        f"{cpu['client']:.2f}, rest (PostgreSQL, Redis, others) {cpu['rest']:.2f}; machine busy "
        f"{cpu['machine_busy']:.2f}, steal {cpu['steal']:.2f}; client loop lag p95 "
        f"{play['client_loop_lag_ms'].get('p95', '-')} ms",
        f"PostgreSQL   peak connections while playing: {connections['peak_benchmark_database']} to the benchmark's "
        f"database, {connections['peak_server']} of max_connections {connections['max_connections']} on the server"
        + (f"; throughput phase {throughput['postgres_connections']['peak_benchmark_database']}" if throughput else ""),
        f"noise        another pytest run shared the machine in {100 * results['other_pytest_share']:.0f}% of 5 s "
        f"samples; load average {results['environment']['load_before']} before, "
        f"{results['environment']['load_after']} after",
        f"goal         {GOAL_PLAYERS} concurrent players, guess p95 < {GOAL_P95_MS:.0f} ms, nothing lost or "
        f"duplicated: {'PASS' if all(results['goals'].values()) else 'FAIL'}",
    ]
    per_round = results.get("cpu_per_round_ms")
    if per_round:
        lines.append(
            "CPU/round    "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in per_round.items())
            + f" of CPU per round played: {sum(per_round.values()):.0f} ms in all"
        )
    sized = results.get("sizing")
    if sized:
        lines.append(
            f"sizing       at {sized['rounds_per_player_minute']} rounds a player-minute, CPU-s per player-minute: "
            + ", ".join(f"{name} {value}" for name, value in sized["cpu_s_per_player_minute"].items())
            + "; players per core: "
            + ", ".join(f"{name} {value}" for name, value in sized["players_per_core"].items())
            + f"; all tiers on shared cores {sized['players_per_core_all_tiers']} a core, "
            f"{sized['players_this_machine']} on this machine's {results['environment']['cpu_count']} cores"
        )
    worker = results.get("worker")
    if worker:
        lines.append(
            f"worker       {worker['rounds']} rounds answered on {worker['worker_cpu_s']} CPU-s: "
            f"{worker['worker_rounds_per_cpu_s']} rounds per CPU-s vs bare batched ONNX forward "
            f"{worker['bare_images_per_cpu_s']} images per CPU-s: ratio {worker['ratio']} (goal >= 0.8)"
        )
    for name, found in (results.get("profile") or {}).items():
        lines.append(f"profile      {name}: {found.get('samples', 0)} samples, {found.get('svg', found.get('error'))}")
    return "\n".join(lines)
