// The daily challenge's pieces, for the lobby and the end of a try: the board (PlaNet's row says over how many
// games its mean is), the player's own rank (on the board, or where their points would stand: the board ranks
// established accounts only), and the time until tomorrow's challenge (a new one every UTC midnight).
import { element } from "./api.js";

export function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

// The board as an <ol> (top `limit` rows), or a plain sentence when no one is on it: an empty board in a numbered
// list read "1. No one has finished today's yet."
export function boardList(leaderboard, { id, limit = 10 } = {}) {
  if (!leaderboard.length) {
    return element("p", { class: "hint", id }, "No one is on today's board yet: finish the challenge to be first.");
  }
  return element("ol", { id, class: "daily-board", "aria-label": "Today's leaderboard" },
    leaderboard.slice(0, limit).map((row) => element("li", { class: row.model ? "model" : "" },
      row.model ? `PlaNet (its mean over ${plural(row.games, "game")})` : row.name,
      `: ${row.points.toLocaleString("en")} pts`)));
}

// The player's standing today, in words; null before a try.
export function rankSentence(you) {
  if (!you) return null;
  if (!you.finished) return `You are playing today's challenge: ${you.points.toLocaleString("en")} points so far.`;
  const place = `${ordinal(you.rank)} of ${you.of}`;
  return you.on_board ? `You are ${place} today with ${you.points.toLocaleString("en")} points.`
    : `${you.points.toLocaleString("en")} points: that would be ${place} today. The board ranks signed-in ` +
      "accounts with some games behind them, so this try is not on it.";
}

// A live "Next challenge in 5:04:33" in `node`, until the page goes (one timer per page).
let ticking = null;
export function countdownToTomorrow(node) {
  const tick = () => {
    const now = new Date();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const left = Math.max(0, Math.floor((midnight - now.getTime()) / 1000));
    const [h, m, s] = [Math.floor(left / 3600), Math.floor(left / 60) % 60, left % 60];
    node.textContent = `Next challenge in ${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  };
  clearInterval(ticking);
  tick();
  ticking = setInterval(tick, 1000);
  return node;
}

// The end of a daily try: {title, parts} before the rounds' table.
export function dailyEnding(game, board) {
  return {
    title: `Today's challenge: ${game.total_points.toLocaleString("en")} points`,
    parts: [
      element("p", { id: "daily-rank", class: "daily-rank" }, rankSentence(board.you)),
      countdownToTomorrow(element("p", { class: "countdown-line", id: "daily-next" })),
      element("h2", {}, "Today's board"),
      boardList(board.leaderboard, { id: "daily-board" }),
    ],
  };
}
