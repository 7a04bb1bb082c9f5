// The profile page: this player's games, rounds and mean points, their record against each model and their
// rating after each game (GET /api/profile), drawn as a plain SVG line (no chart library). Names are text.
import { api, element, fill } from "./api.js";
import { svg } from "./svg.js";

function count(n) {
  return n.toLocaleString("en");
}

function show(id, text) {
  document.getElementById(id).textContent = text;
}

function renderRecords(models) {
  const target = document.getElementById("profile-records");
  const head = element("thead", {}, element("tr", {}, ["Model", "Counted rounds", "You closer", "Ties",
    "Model closer"].map((h) => element("th", { scope: "col" }, h))));
  const rows = models.length ? models.map((m) => element("tr", {}, element("th", { scope: "row" }, m.model),
    element("td", {}, count(m.rounds)), element("td", {}, count(m.wins)), element("td", {}, count(m.ties)),
    element("td", {}, count(m.losses))))
    : [element("tr", {}, element("td", { colspan: 5 }, "No counted rounds yet."))];
  fill(target, head, element("tbody", {}, rows));
}

// Ratings against game number: one point per game that added counted rounds, the anchor as a dashed line.
function ratingPlot(rating) {
  const points = rating.points;
  const width = 520, height = 240, left = 52, right = 16, top = 14, bottom = 34;
  const values = [...points.map((p) => p.rating), rating.anchor_rating];
  const low = Math.floor((Math.min(...values) - 25) / 50) * 50, high = Math.ceil((Math.max(...values) + 25) / 50) * 50;
  const x = (i) => (points.length === 1 ? (left + width - right) / 2
    : left + (i / (points.length - 1)) * (width - left - right));
  const y = (value) => top + ((high - value) / (high - low)) * (height - top - bottom);
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart rating-chart",
    "aria-label": `Your rating after each of ${points.length} games` });
  for (const value of [low, (low + high) / 2, high]) {
    plot.append(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: "grid" }),
      svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", class: "tick" }, String(Math.round(value))));
  }
  plot.append(svg("line", { x1: left, x2: width - right, y1: y(rating.anchor_rating), y2: y(rating.anchor_rating),
    class: "axis-even" }, svg("title", {}, `${rating.anchor}: ${rating.anchor_rating} (anchor)`)));
  if (points.length > 1) {
    plot.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.rating)}`).join(" "),
      class: "rating-line" }));
  }
  points.forEach((p, i) => plot.append(svg("circle", { cx: x(i), cy: y(p.rating), r: 4.5, class: "rating-point" },
    svg("title", {}, `After game ${i + 1} (${new Date(p.played_at).toLocaleDateString("en")}): `
      + `${Math.round(p.rating)} on ${count(p.counted_rounds)} counted rounds`))));
  plot.append(svg("text", { x: (left + width - right) / 2, y: height - 8, "text-anchor": "middle", class: "tick" },
    points.length === 1 ? "game 1" : `games 1–${points.length}`));
  return plot;
}

function renderRating(rating) {
  const target = document.getElementById("rating-plot");
  if (!rating.points.length) {
    fill(target, element("p", { class: "hint" }, "No counted rounds yet: play a game to the end."));
    return;
  }
  const last = rating.points[rating.points.length - 1];
  fill(target, ratingPlot(rating), element("p", { id: "rating-now" },
    `Now ${Math.round(last.rating)}${rating.provisional ? " (provisional: fewer than 10 counted rounds)" : ""}.`));
}

async function load() {
  try {
    const profile = await api("/api/profile");
    show("profile-games", count(profile.games));
    show("profile-rounds", count(profile.rounds));
    show("profile-counted", count(profile.counted_rounds));
    show("profile-mean-points", profile.mean_points === null ? "—" : count(Math.round(profile.mean_points)));
    renderRecords(profile.models);
    renderRating(profile.rating);
    document.getElementById("profile-status").textContent = "";
    document.getElementById("profile").hidden = false;
  } catch (error) {
    document.getElementById("profile-status").textContent = "";
    const box = document.getElementById("profile-error");
    box.textContent = error.message;
    box.hidden = false;
  }
}

// Deleting one's rounds: asked once more in the browser's own dialog, then the page reloads its (now empty) record.
async function deleteData() {
  if (!window.confirm("Delete all your rounds? They leave the game and every later export. This cannot be undone.")) {
    return;
  }
  const status = document.getElementById("delete-status");
  try {
    const answer = await api("/api/profile/delete", { method: "POST", body: { confirm: "delete" } });
    status.textContent = `Deleted ${count(answer.deleted.guesses)} rounds.`;
    await load();
  } catch (error) {
    status.textContent = error.message;
  }
}

document.getElementById("delete-data")?.addEventListener("click", deleteData);
load();
