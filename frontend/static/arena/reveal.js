// The pieces of a round's reveal: the map's pins, great circles and PlaNet's cells, the score cards, who won
// at each radius, the image credit, the summary and the spoiler-free text a result is shared as. game.js puts
// them together (a country streak's pieces are in streak.js).
import { element, formatKm } from "./api.js";
import { countUp } from "./motion.js";
import { cellLayer, greatCircle, pin, textTooltip } from "./worldmap.js";

const WHO = { human: "You", model: "PlaNet", tie: "Tie" };

// ISO country codes as names ("JP" -> "Japan") from the browser's own locale data: no lookup table to ship.
const regionNames = new Intl.DisplayNames(["en"], { type: "region" });

export function countryName(code) {
  if (!code) return null;
  try {
    return regionNames.of(code);
  } catch {
    return code; // a code the browser does not know (XK in some versions) stays a code
  }
}

function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function latLng(point) {
  return point && point.latitude !== null && point.latitude !== undefined ? L.latLng(point.latitude, point.longitude) : null;
}

// A pin with the round's number on it (the summary map: which guess and which truth belong together).
function numberedPin(latlng, kind, label, number) {
  return L.marker(latlng, {
    icon: L.divIcon({ className: `map-pin ${kind} numbered`, html: element("span", {}, String(number)),
      iconSize: [24, 24], iconAnchor: [12, 12] }),
    title: label, alt: label, keyboard: true,
  });
}

// The round's pins, lines and (with `cells`) PlaNet's cells on `layers`; the points to fit the map to. With
// `number` (the summary) the truth and the player's pin carry the round's number.
export function drawRound(map, layers, reveal, { cells, number = null }) {
  const truth = latLng(reveal.truth);
  const human = latLng(reveal.human);
  const model = reveal.model.status === "ready" ? latLng(reveal.model) : null;
  const points = [truth];
  const marked = (where, kind, label) => (number === null ? pin(where, kind, label)
    : numberedPin(where, kind, `Round ${number}: ${label}`, number));
  if (cells && model && reveal.model.top_cells) cellLayer(reveal.model.top_cells).addTo(layers);
  for (const other of reveal.opponents || []) {
    const where = latLng(other);
    if (!where) continue;
    greatCircle(where, truth, { color: cssColour("--other"), weight: 1.5, dashArray: "2 6" }).addTo(layers);
    pin(where, "other", `${other.name}: ${formatKm(other.km)}`).bindTooltip(textTooltip(other.name)).addTo(layers);
    points.push(where);
  }
  if (model) {
    greatCircle(model, truth, { color: cssColour("--model"), weight: 2.5, dashArray: "8 6" }).addTo(layers);
    pin(model, "model", `PlaNet's guess: ${formatKm(reveal.model.km)} away`).addTo(layers);
    points.push(model);
  }
  if (human) {
    // From the guess to the truth: motion.js draws it out from the guess.
    greatCircle(human, truth, { color: cssColour("--human"), weight: 2.5, className: "guess-line" }).addTo(layers);
    marked(human, "human", `Your guess: ${formatKm(reveal.human.km)} away`).addTo(layers);
    points.push(human);
  }
  marked(truth, "truth", "True location").setZIndexOffset(2000).addTo(layers);
  return points;
}

// Points count up the first time a round's card is shown, not again when the reveal is redrawn (PlaNet's late
// answer, a room's guesses).
const counted = new Set();

function pointsNode(points, countKey) {
  const node = element("div", { class: "points" }, points === undefined ? "—" : points.toLocaleString("en"));
  if (points !== undefined && countKey && !counted.has(countKey)) {
    counted.add(countKey);
    countUp(node, points);
  }
  return node;
}

// countKey: the card's round and side, to count its points up once.
export function scoreCard(kind, title, side, status, countKey = null) {
  let detail;
  if (kind === "human") detail = side.timed_out ? "Time ran out" : `${formatKm(side.km)} away`;
  else if (status === "ready") detail = `${formatKm(side.km)} away`;
  else if (status === "pending") detail = "Still thinking…";
  else detail = "No guess this round";
  return element("div", { class: `score-card ${kind}` },
    element("div", {}, element("span", { class: `swatch ${kind}` }), title),
    pointsNode(side.points, countKey),
    element("div", { class: "hint" }, detail));
}

// A missing error (a round that timed out: no pin) is inside no radius; `null <= km` would say it is inside all.
function within(errorKm, radiusKm) {
  return typeof errorKm === "number" && errorKm <= radiusKm;
}

export function outcomeTable(reveal) {
  if (!reveal.winners) return element("p", { class: "hint" }, "Who won at each distance appears once PlaNet has guessed.");
  // The radii come with the reveal (rules.THRESHOLDS on the server): one definition, never repeated here.
  const rows = reveal.thresholds.map(({ name, km }) => {
    const who = reveal.winners[name];
    // A tie at a radius is both within it or neither: say which, as "Tie" reads as a draw either way.
    const text = who === "tie" ? (within(reveal.human.km, km) ? "Both" : "Neither") : WHO[who];
    return element("tr", { class: "outcome-row" }, element("td", {}, `${name[0].toUpperCase()}${name.slice(1)} (${km} km)`),
      element("td", { class: `who-${who}` }, text));
  });
  const closer = reveal.head_to_head;
  rows.push(element("tr", { class: "outcome-row" }, element("td", {}, "Closer guess"),
    element("td", { class: `who-${closer}` }, WHO[closer])));
  return element("div", { class: "table-scroll" }, element("table", { id: "winners" },
    element("caption", { class: "visually-hidden" }, "Who was within each distance of the truth"),
    element("thead", {}, element("tr", {}, element("th", { scope: "col" }, "Within"), element("th", { scope: "col" }, "Winner"))),
    element("tbody", {}, rows)));
}

// The reveal's words: {title, parts}.
export function revealParts(reveal) {
  const status = reveal.model.status;
  // The country only: the continent is the country's (Natural Earth gives each country one), so "Russia, Europe"
  // named Khabarovsk's continent wrongly. It is said apart, as what the benchmark counts.
  const place = countryName(reveal.truth.country);
  return {
    title: `Round ${reveal.number}: ${reveal.human.points.toLocaleString("en")} points`,
    parts: [
      element("p", {}, "The photo was taken ", element("strong", {}, place ? `in ${place}` : "here"),
        ` (${reveal.truth.latitude.toFixed(4)}, ${reveal.truth.longitude.toFixed(4)}).`),
      reveal.truth.continent ? element("p", { class: "hint", id: "truth-continent" },
        `Continent in the benchmark: ${reveal.truth.continent}, the country's continent (a country counts in one ` +
        "continent, wherever in it the photo was taken).") : null,
      element("div", { class: "score-cards" }, scoreCard("human", "You", reveal.human, "ready", `${reveal.round}:human`),
        scoreCard("model", "PlaNet", reveal.model, status, `${reveal.round}:model`)),
      outcomeTable(reveal),
      reveal.counted === false && status === "ready"
        ? element("p", { class: "hint" }, "Not counted in the benchmark: PlaNet's guess arrived after yours.") : null,
      (reveal.opponents || []).length ? element("div", {}, element("h2", {}, "Room"), element("ul", {},
        reveal.opponents.map((o) => element("li", {}, `${o.name}: ${o.timed_out ? "timed out" : formatKm(o.km)}, ${o.points.toLocaleString("en")} pts`)))) : null,
      element("p", { class: "attribution" }, credit(reveal)),
    ],
  };
}

// The end of a game: {title, parts}: each round's distances and points, and the standings with PlaNet in them.
export function summaryParts(game, reveals) {
  const humanWins = reveals.filter((r) => r.head_to_head === "human").length;
  const modelWins = reveals.filter((r) => r.head_to_head === "model").length;
  return {
    title: `Game over: you ${game.total_points.toLocaleString("en")}, PlaNet ${game.total_model_points.toLocaleString("en")}`,
    parts: [
      element("p", {}, `Closer guess: you ${humanWins}, PlaNet ${modelWins}, ties ${reveals.length - humanWins - modelWins}.`),
      element("div", { class: "table-scroll" }, element("table", { id: "summary-table" },
        element("thead", {}, element("tr", {}, ["Round", "Where", "You", "PlaNet"].map((h) => element("th", { scope: "col" }, h)))),
        element("tbody", {}, reveals.map((r) => element("tr", {},
          element("td", {}, r.number), element("td", {}, countryName(r.truth.country) || "—"),
          element("td", {}, `${formatKm(r.human.km)} · ${r.human.points.toLocaleString("en")}`),
          element("td", {}, r.model.status === "ready"
            ? `${formatKm(r.model.km)} · ${r.model.points.toLocaleString("en")}` : "—")))),
        element("tfoot", {}, element("tr", {}, element("th", { scope: "row" }, "Total"), element("td", {}),
          element("td", {}, game.total_points.toLocaleString("en")), element("td", {}, game.total_model_points.toLocaleString("en")))))),
      element("h2", {}, "Standings"),
      // PlaNet stands among the players: it played every round too.
      element("ol", { id: "summary-standings" }, [...game.players.map((p) => ({ ...p, name: `${p.name}${p.you ? " (you)" : ""}` })),
        { name: "PlaNet", total_points: game.total_model_points }].sort((a, b) => b.total_points - a.total_points)
        .map((p) => element("li", {}, `${p.name}: ${p.total_points.toLocaleString("en")} pts`))),
    ],
  };
}

// The image credit, naming the licence once (an attribution often ends with it already).
export function credit(reveal) {
  const attribution = reveal.attribution || "unknown";
  const licence = reveal.licence && !attribution.includes(reveal.licence) ? ` (${reveal.licence})` : "";
  return `Image: ${attribution}${licence}`;
}

// A result to post anywhere: points and who was closer per round as emoji, a link to the lobby; no place, no
// distance, no photo (nothing that spoils the rounds for someone about to play them).
export function shareText(game, reveals) {
  const square = (points) => (points >= 4000 ? "🟩" : points >= 2000 ? "🟨" : points >= 500 ? "🟧" : "🟥");
  const closer = { human: "🙂", model: "🤖", tie: "🤝" };
  return [
    `PlaNet Arena · ${game.set} · ${reveals.length} round${reveals.length === 1 ? "" : "s"}`,
    `Me ${game.total_points.toLocaleString("en")} · PlaNet ${game.total_model_points.toLocaleString("en")}`,
    reveals.map((r) => square(r.human.points || 0)).join(""),
    `Closer: ${reveals.map((r) => closer[r.head_to_head] || "·").join("")}`,
    `${location.origin}/`,
  ].join("\n");
}
