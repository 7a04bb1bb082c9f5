// The benchmark page: the tables of /api/stats/benchmark, a win-rate interval plot and the error CDFs,
// drawn as plain SVG (no chart library), with filters and download links that follow them.
import { api, element, fill, formatKm, formatPercent } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const state = { tables: null };

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(child));
  }
  return node;
}

function capitalised(text) {
  return text ? `${text[0].toUpperCase()}${text.slice(1)}` : text;
}

function pValue(p) {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

function rateWithInterval(row) {
  if (row.human_win_rate === null) return "—";
  return `${formatPercent(row.human_win_rate)} (${formatPercent(row.wilson_low)}–${formatPercent(row.wilson_high)})`;
}

function table(id, headings, rows, footer) {
  const target = document.getElementById(id);
  fill(target,
    element("thead", {}, element("tr", {}, headings.map((h) => element("th", { scope: "col" }, h)))),
    element("tbody", {}, rows.map((cells) => element("tr", {}, cells.map((cell, i) =>
      i === 0 ? element("th", { scope: "row" }, cell) : element("td", {}, cell))))),
    footer ? element("tfoot", {}, element("tr", {}, footer.map((cell, i) =>
      i === 0 ? element("th", { scope: "row" }, cell) : element("td", {}, cell)))) : null,
  );
}

function renderThresholds(tables) {
  const headings = ["Within", "Humans", "PlaNet", "Human wins", "PlaNet wins", "Ties", "Human win rate (95% CI)",
    "Sign test p"];
  const row = (label, r, accuracy) => [label, accuracy ? formatPercent(r.human_accuracy, 1) : "",
    accuracy ? formatPercent(r.model_accuracy, 1) : "", r.human_wins.toLocaleString("en"),
    r.model_wins.toLocaleString("en"), r.ties.toLocaleString("en"), rateWithInterval(r), pValue(r.sign_test_p)];
  table("threshold-table", headings,
    tables.thresholds.map((r) => row(`${capitalised(r.name)} (${r.km} km)`, r, true)),
    row("Closer guess", tables.head_to_head, false));
}

// Human win rate per radius as points with interval bars on a 0–100% axis (a forest plot).
function renderWinRates(tables) {
  const rows = [...tables.thresholds.map((r) => [capitalised(r.name), r]), ["Closer", tables.head_to_head]];
  const width = 420, left = 80, right = 16, rowHeight = 30, top = 10, height = top + rows.length * rowHeight + 30;
  const x = (share) => left + share * (width - left - right);
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart",
    "aria-label": "Human win rate per radius with 95% intervals" });
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    plot.append(svg("line", { x1: x(tick), x2: x(tick), y1: top, y2: height - 24,
      class: tick === 0.5 ? "axis-even" : "grid" }),
    svg("text", { x: x(tick), y: height - 8, "text-anchor": "middle", class: "tick" }, `${tick * 100}%`));
  }
  rows.forEach(([label, r], i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    plot.append(svg("text", { x: left - 8, y: y + 4, "text-anchor": "end", class: "tick" }, label));
    if (r.human_win_rate === null) {
      plot.append(svg("text", { x: x(0.5), y: y + 4, "text-anchor": "middle", class: "tick muted" }, "no decided rounds"));
      return;
    }
    plot.append(svg("line", { x1: x(r.wilson_low), x2: x(r.wilson_high), y1: y, y2: y, class: "interval" }),
      svg("circle", { cx: x(r.human_win_rate), cy: y, r: 5, class: "estimate" },
        svg("title", {}, `${label}: ${rateWithInterval(r)} of ${r.decided} decided rounds`)));
  });
  document.getElementById("winrate-plot").replaceChildren(plot);
}

function renderErrors(tables) {
  const e = tables.errors;
  const a = tables.admin_levels;
  const median = (side) => e[`${side}_median_km`] === null ? "—"
    : `${formatKm(e[`${side}_median_km`])} (${formatKm(e[`${side}_median_low`])}–${formatKm(e[`${side}_median_high`])})`;
  const points = (value) => value === null ? "—" : Math.round(value).toLocaleString("en");
  table("error-table", ["", "Humans", "PlaNet"], [
    ["Median error (95% CI)", median("human"), median("model")],
    ["Mean points", points(e.human_mean_points), points(e.model_mean_points)],
    ["Same country", formatPercent(a.human_same_country, 1), formatPercent(a.model_same_country, 1)],
    ["Same continent", formatPercent(a.human_same_continent, 1), formatPercent(a.model_same_continent, 1)],
  ]);
  document.getElementById("paired-note").textContent = tables.paired.power_note;
}

// Share of rounds within d km against log d, one line per side, the five radii as dashed verticals.
function renderCdf(tables) {
  const { km, human, model } = tables.error_cdf;
  const width = 440, height = 280, left = 44, right = 12, top = 12, bottom = 40;
  const lo = Math.log10(km[0]), hi = Math.log10(km[km.length - 1]);
  const x = (d) => left + (Math.log10(d) - lo) / (hi - lo) * (width - left - right);
  const y = (share) => top + (1 - share) * (height - top - bottom);
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart",
    "aria-label": "Error CDF: share of rounds within each distance, humans and PlaNet" });
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    plot.append(svg("line", { x1: left, x2: width - right, y1: y(share), y2: y(share), class: "grid" }),
      svg("text", { x: left - 6, y: y(share) + 4, "text-anchor": "end", class: "tick" }, `${share * 100}%`));
  }
  // The radii as the API sends them (km numbers), never parsed from labels.
  for (const { name, km: d } of tables.thresholds) {
    plot.append(svg("line", { x1: x(d), x2: x(d), y1: top, y2: height - bottom, class: "radius" },
      svg("title", {}, `${name}: ${d} km`)),
    svg("text", { x: x(d), y: height - bottom + 14, "text-anchor": "middle", class: "tick" }, String(d)));
  }
  plot.append(svg("text", { x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle", class: "tick" },
    "error (km, log scale)"));
  for (const [side, shares] of [["human", human], ["model", model]]) {
    if (shares.some((s) => s === null)) continue;
    const path = shares.map((s, i) => `${i ? "L" : "M"}${x(km[i]).toFixed(1)},${y(s).toFixed(1)}`).join("");
    plot.append(svg("path", { d: path, class: `cdf ${side}` }));
  }
  const legend = svg("g", { transform: `translate(${left + 8},${top + 8})` },
    svg("rect", { width: 12, height: 4, y: 4, class: "key human" }), svg("text", { x: 18, y: 10, class: "tick" }, "Humans"),
    svg("rect", { width: 12, height: 4, y: 20, class: "key model" }), svg("text", { x: 18, y: 26, class: "tick" }, "PlaNet"));
  plot.append(legend);
  document.getElementById("cdf-plot").replaceChildren(plot);
}

function renderBreakdown() {
  const dimension = document.getElementById("breakdown-by").value;
  const groups = state.tables.breakdowns[dimension] || [];
  table("breakdown-table", ["Group", "Rounds", "Human closer", "PlaNet closer", "Ties", "Human median",
    "PlaNet median", "Human mean points", "PlaNet mean points"],
  groups.map((g) => [g.group || "unknown", g.rounds.toLocaleString("en"), g.human_wins.toLocaleString("en"),
    g.model_wins.toLocaleString("en"), g.ties.toLocaleString("en"), formatKm(g.human_median_km),
    formatKm(g.model_median_km), Math.round(g.human_mean_points).toLocaleString("en"),
    Math.round(g.model_mean_points).toLocaleString("en")]));
}

function renderRatings(tables) {
  table("ratings-table", ["", "Kind", "Rating (95% CI)", "Rounds"], tables.ratings.map((r) => [r.name,
    r.kind === "model" ? "model" : "player",
    `${Math.round(r.rating)} (${Math.round(r.low)}–${Math.round(r.high)})`, r.rounds.toLocaleString("en")]));
}

function query() {
  const data = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams();
  for (const [name, value] of data) if (value) params.set(name, value);
  return params;
}

function updateLinks(params) {
  document.getElementById("download-json").href = `/api/stats/benchmark?${params}`;
  for (const link of document.querySelectorAll("a.export")) {
    link.href = `/api/stats/export?${new URLSearchParams({ format: link.dataset.format, ...Object.fromEntries(params) })}`;
  }
}

async function load() {
  const params = query();
  updateLinks(params);
  const status = document.getElementById("stats-status");
  status.textContent = "Loading the tables…";
  const tables = await api(`/api/stats/benchmark?${params}`);
  state.tables = tables;
  const excluded = Object.entries(tables.excluded).map(([why, n]) => `${n.toLocaleString("en")} ${why.replaceAll("_", " ")}`);
  status.textContent = `${tables.rounds.toLocaleString("en")} counted rounds of ${tables.player_rounds.toLocaleString("en")}`
    + ` played${excluded.length ? `; left out: ${excluded.join(", ")}` : ""}.`;
  document.getElementById("stats").hidden = false;
  renderThresholds(tables);
  renderWinRates(tables);
  renderErrors(tables);
  renderCdf(tables);
  renderBreakdown();
  renderRatings(tables);
}

function fail(error) {
  const box = document.getElementById("stats-error");
  box.textContent = error.message || String(error);
  box.hidden = false;
}

async function main() {
  const { sets, models } = await api("/api/catalogue");
  document.getElementById("filter-set").append(...sets.map((s) => element("option", { value: s.name }, s.name)));
  document.getElementById("filter-model").append(...models.map((m) => element("option", { value: m.name }, m.name)));
  document.getElementById("filters").addEventListener("change", () => load().catch(fail));
  document.getElementById("breakdown-by").addEventListener("change", renderBreakdown);
  await load();
}

main().catch(fail);
