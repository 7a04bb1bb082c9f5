// The benchmark page: the tables of /api/stats/benchmark, a win-rate interval plot and the error CDFs,
// drawn as plain SVG (no chart library), with filters and download links that follow them. Intervals shown
// are the cluster-aware ones (rounds share panoramas and players); the naive ones are in each cell's title.
import { api, element, fill, formatKm, formatPercent } from "./api.js";
import { svg } from "./svg.js";

const state = { tables: null, requests: 0 };

function capitalised(text) {
  return text ? `${text[0].toUpperCase()}${text.slice(1)}` : text;
}

function pValue(p) {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}

function count(n) {
  return n.toLocaleString("en");
}

function number(value, digits = 1) {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

function withInterval(value, low, high, digits = 1) {
  if (value === null || value === undefined) return "—";
  if (low === null || high === null) return formatPercent(value, digits);
  return `${formatPercent(value, digits)} (${formatPercent(low, digits)}–${formatPercent(high, digits)})`;
}

function rateWithInterval(row) {
  if (row.verdict && row.human_win_rate !== null) return `${formatPercent(row.human_win_rate, 0)} (${row.verdict})`;
  return withInterval(row.human_win_rate, row.low, row.high, 0);
}

// A table cell with a hover title (the naive statistic beside the cluster-aware one).
function titled(text, title) {
  return element("span", { title }, text);
}

function table(id, headings, rows, footer) {
  const target = document.getElementById(id);
  fill(target,
    element("thead", {}, element("tr", {}, headings.map((h) => element("th", { scope: "col" }, h)))),
    element("tbody", {}, rows.map((cells) => element("tr", {}, cells.map((cell, i) =>
      i === 0 ? element("th", { scope: "row" }, cell) : element("td", {}, cell))))),
    footer ? element("tfoot", {}, footer.map((cells) => element("tr", {}, cells.map((cell, i) =>
      i === 0 ? element("th", { scope: "row" }, cell) : element("td", {}, cell))))) : null,
  );
}

// The duel columns every contest shares: wins, win rate, the exact sign test, the cluster test and its design.
function duelCells(r) {
  const naive = r.wilson_low === null ? "no decided rounds"
    : `Rounds as independent duels: ${formatPercent(r.wilson_low, 1)}–${formatPercent(r.wilson_high, 1)} (Wilson)`;
  const design = r.design_effect === null ? "—"
    : `${number(r.design_effect)} (${number(r.effective_decided, 0)} of ${count(r.decided)})`;
  return [count(r.human_wins), count(r.model_wins), count(r.ties), titled(rateWithInterval(r), naive),
    pValue(r.sign_test_p), titled(pValue(r.cluster_p), `t on ${r.cluster_df} df; ${r.panoramas} panoramas, `
      + `${r.players} players with a decided round`), design];
}

const DUEL_HEADINGS = ["Human wins", "PlaNet wins", "Ties", "Human win rate (95% CI)", "Sign test p",
  "Cluster p", "Design effect (effective duels)"];

// A verified radius where the set prior (one fixed guess at the set's centre) is inside in most rounds says
// nothing of skill: the API withholds its duel, and the table says why.
function withheld(r) {
  return r.reported === false;
}

function renderThresholds(tables) {
  table("threshold-table", ["Within", "Humans", "PlaNet", "Set prior", ...DUEL_HEADINGS, "Holm p (headline)"],
    tables.thresholds.map((r) => [`${capitalised(r.name)} (${r.km} km)`, formatPercent(r.human_accuracy, 1),
      formatPercent(r.model_accuracy, 1), formatPercent(r.set_prior_accuracy, 1),
      ...(withheld(r) ? [titled("Not reported", r.not_reported), ...DUEL_HEADINGS.slice(1).map(() => "—")]
        : duelCells(r)), withheld(r) ? "—" : pValue(r.cluster_p_holm)]),
    [["Closer guess", "", "", "", ...duelCells(tables.head_to_head), pValue(tables.head_to_head.cluster_p_holm)]]);
  renderEstimands(tables);
  const d = tables.design;
  document.getElementById("design-note").textContent = d.rounds === 0 ? "" : `${count(d.rounds)} rounds over `
    + `${count(d.panoramas)} panoramas and ${count(d.players)} players: ${number(d.rounds_per_panorama)} rounds per `
    + `panorama, ${number(d.rounds_per_player)} per player, the busiest player ${formatPercent(d.busiest_player_share, 0)}`
    + ` of them. The bootstrap draws ${count(d.bootstrap.resamples)} resamples over ${d.bootstrap.panorama_groups}`
    + ` panorama and ${d.bootstrap.player_groups} player groups.`;
}

// What the headline estimates: the round-weighted rate beside the player-weighted one, the timeouts'
// sensitivity row, and the Holm family.
function renderEstimands(tables) {
  const e = tables.estimands, s = tables.timeout_sensitivity, w = e.player_weighted;
  const weighted = w.low === null ? `${formatPercent(w.rate, 0)} (${w.verdict || "no interval"})`
    : withInterval(w.rate, w.low, w.high, 0);
  document.getElementById("estimands-note").textContent = `Human win rate on the closer guess: `
    + `round-weighted (the headline) ${rateWithInterval(tables.head_to_head)}; player-weighted over ${w.players} `
    + `players ${weighted}. ${e.headline_reason} With the ${count(s.timeouts)} timeouts left out instead of counted `
    + `as losses: ${rateWithInterval(s.excluded)}. Holm's p adjusts over the ${tables.headline_family.size} headline `
    + `tests (${tables.headline_family.tests.join(", ")}).`;
}

function renderAdmin(tables) {
  table("admin-table", ["Right", "Rounds", "Humans right (95% CI)", "PlaNet right (95% CI)", ...DUEL_HEADINGS,
    "Holm p (headline)"],
    tables.admin_outcomes.map((r) => [capitalised(r.name), count(r.rounds),
      withInterval(r.human_accuracy, r.human_accuracy_low, r.human_accuracy_high),
      withInterval(r.model_accuracy, r.model_accuracy_low, r.model_accuracy_high), ...duelCells(r),
      pValue(r.cluster_p_holm)]));
  document.getElementById("admin-note").textContent = tables.admin_note;
}

function renderPlanet(tables) {
  const median = (r) => r.median_km === null ? "—"
    : r.median_low === null ? (r.median_note ? `${formatKm(r.median_km)} (${r.median_note})` : formatKm(r.median_km))
    : `${formatKm(r.median_km)} (${formatKm(r.median_low)}–${formatKm(r.median_high)})`;
  table("planet-table", ["", "Rounds", ...tables.thresholds.map((t) => `${t.km} km`), "Median error (95% CI)"],
    tables.planet_table.map((r) => [r.name, count(r.rounds),
      ...r.accuracy.map((a) => withInterval(a.rate, a.low, a.high)), median(r)]));
  // Which image each model guessed on: the bytes the players were served, or the dataset's original file.
  const seen = { served: "the served image", original: "the original file", "": "no recorded view" };
  document.getElementById("views-note").textContent = Object.entries(tables.model_views || {}).map(([model, views]) =>
    `${model} guessed on ${Object.entries(views).map(([view, n]) => `${seen[view] ?? view} (${count(n)} rounds)`)
      .join(" and ")}`).join("; ");
}

// Human win rate per radius as points with interval bars on a 0–100% axis (a forest plot): the cluster
// interval only; where it is undefined (too few players) the point is drawn alone and the row says why.
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
    if (withheld(r) || r.human_win_rate === null) {
      plot.append(svg("text", { x: x(0.5), y: y + 4, "text-anchor": "middle", class: "tick muted" },
        withheld(r) ? "not reported: the set prior wins here" : "no decided rounds"));
      return;
    }
    // The interval the table gives, or none: the naive Wilson bar drawn here where the table gave no interval
    // read as a cluster interval that does not exist; the row says why instead.
    if (r.low !== null && r.high !== null) {
      plot.append(svg("line", { x1: x(r.low), x2: x(r.high), y1: y, y2: y, class: "interval", "data-row": label }));
    } else {
      plot.append(svg("text", { x: x(r.human_win_rate) + 9, y: y + 4, class: "tick muted no-interval" },
        r.verdict || "no cluster interval"));
    }
    const detail = r.low === null ? " (no interval: too few panoramas or players for one)" : "";
    plot.append(svg("circle", { cx: x(r.human_win_rate), cy: y, r: 5, class: "estimate", "data-row": label },
      svg("title", {}, `${label}: ${rateWithInterval(r)} of ${r.decided} decided rounds${detail}`)));
  });
  document.getElementById("winrate-plot").replaceChildren(plot);
}

function renderErrors(tables) {
  const e = tables.errors;
  const p = tables.paired;
  const median = (side) => e[`${side}_median_km`] === null ? "—"
    : e[`${side}_median_low`] === null
      ? `${formatKm(e[`${side}_median_km`])}${e[`${side}_median_note`] ? ` (${e[`${side}_median_note`]})` : ""}`
      : `${formatKm(e[`${side}_median_km`])} (${formatKm(e[`${side}_median_low`])}–${formatKm(e[`${side}_median_high`])})`;
  const points = (value) => value === null ? "—" : Math.round(value).toLocaleString("en");
  const ratio = p.ratio === null ? "—" : p.ratio_low === null ? number(p.ratio, 2)
    : `${number(p.ratio, 2)} (${number(p.ratio_low, 2)}–${number(p.ratio_high, 2)})`;
  table("error-table", ["", "Humans", "PlaNet"], [
    ["Median error (95% CI)", median("human"), median("model")],
    ["Mean points", points(e.human_mean_points), points(e.model_mean_points)],
    ["Human / PlaNet error, geometric mean (95% CI)", ratio, ""],
  ]);
  document.getElementById("power-note").textContent = tables.power.note;
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
  table("breakdown-table", ["Group", "Rounds", "Human closer", "PlaNet closer", "Ties", "Human win rate (95% CI)",
    "Human median", "PlaNet median", "Humans right country", "PlaNet right country", "Humans right continent",
    "PlaNet right continent", "Human mean points", "PlaNet mean points"],
  groups.map((g) => [g.group || "unknown", count(g.rounds), count(g.human_wins), count(g.model_wins), count(g.ties),
    rateWithInterval(g), formatKm(g.human_median_km), formatKm(g.model_median_km),
    formatPercent(g.human_country_rate, 0), formatPercent(g.model_country_rate, 0),
    formatPercent(g.human_continent_rate, 0), formatPercent(g.model_continent_rate, 0),
    Math.round(g.human_mean_points).toLocaleString("en"), Math.round(g.model_mean_points).toLocaleString("en")]));
}

function renderRatings(tables) {
  const info = tables.ratings_info;
  // A player by the seat name they chose (as text), the pseudonymous id on hover, else by the pseudonym; a model
  // by its name. Entries linked to the anchor by no chain of rounds are listed apart, unranked.
  const name = (r) => r.display_name && r.display_name !== r.name ? titled(r.display_name, `player ${r.name}`)
    : r.name;
  const rank = (r) => r.rank_low === r.rank_high ? String(r.rank) : `${r.rank} (${r.rank_low}–${r.rank_high})`;
  const rating = (r) => r.anchor ? `${Math.round(r.rating)} (anchor, fixed)`
    : `${Math.round(r.rating)} (${Math.round(r.low)}–${Math.round(r.high)})${r.provisional ? ", provisional" : ""}`;
  const kind = (r) => r.kind === "model" ? "model" : "player";
  table("ratings-table", ["", "Rank (95% CI)", "Kind", "Rating (95% CI)", "Rounds"],
    tables.ratings.filter((r) => r.connected !== false).map((r) => [name(r), rank(r), kind(r), rating(r),
      count(r.rounds)]));
  const apart = tables.ratings.filter((r) => r.connected === false);
  document.getElementById("ratings-apart").hidden = apart.length === 0;
  table("ratings-apart-table", ["", "Kind", "Rounds"], apart.map((r) => [name(r), kind(r), count(r.rounds)]));
  document.getElementById("ratings-note").textContent = info.anchor === null ? "" : `${info.anchor} is fixed at `
    + `${info.anchor_rating} (${info.anchor_rule || "the anchor"}); models have a Normal prior around it, players `
    + `one around the humans' pooled strength (${Math.round(info.humans_prior_mean)}), each with a standard `
    + `deviation of ${info.prior_sd_elo} points; under ${info.provisional_below_rounds} rounds a rating is `
    + `provisional. Rank intervals come from the same bootstrap refits.`;
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
  const request = ++state.requests;
  const params = query();
  updateLinks(params);
  const status = document.getElementById("stats-status");
  status.textContent = "Loading the tables…";
  const tables = await api(`/api/stats/benchmark?${params}`);
  // A filter changed while these tables were on their way: the newer request's tables are the ones to show
  // (the first load, answered last, drew the verified tier over the open one a player had just picked).
  if (request !== state.requests) return;
  state.tables = tables;
  const excluded = Object.entries(tables.excluded).map(([why, n]) => `${n.toLocaleString("en")} ${why.replaceAll("_", " ")}`);
  const open = tables.tiers.open;
  const why = Object.entries(open.reasons).map(([reason, n]) => `${n.toLocaleString("en")} ${reason.replaceAll("_", " ")}`);
  status.textContent = `${tables.tier === "verified" ? "Verified tier" : "Open tier"}: `
    + `${tables.rounds.toLocaleString("en")} rounds in these tables; `
    + `${tables.tiers.verified.player_rounds.toLocaleString("en")} verified of ${open.player_rounds.toLocaleString("en")}`
    + ` counted of ${tables.player_rounds.toLocaleString("en")} played`
    + `${why.length ? `; not verified: ${why.join(", ")}` : ""}${excluded.length ? `; left out: ${excluded.join(", ")}` : ""}.`;
  document.getElementById("stats").hidden = false;
  renderThresholds(tables);
  renderWinRates(tables);
  renderAdmin(tables);
  renderPlanet(tables);
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
