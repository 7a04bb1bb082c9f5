// The country streak (a game whose goal is "country"): the round's country picker (a click on the map picks the
// country under it, highlighted and named; a list of every country the API names is the keyboard's way), the
// reveal's countries and streaks, the summary and the share text. game.js calls these in place of the point
// game's pieces. Country names come from the browser's locale data and go in as text, never as HTML.
import { api, element } from "./api.js";
import { countryName } from "./reveal.js";
import { cellLayer, loadCountries, pin } from "./worldmap.js";

function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// Even-odd ray casting over one ring of [lng, lat] vertices.
function inRing(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function containsPoint(geometry, x, y) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  return polygons.some((rings) => inRing(rings[0], x, y) && !rings.slice(1).some((hole) => inRing(hole, x, y)));
}

// The ISO code of the country under a point of the map (any copy of the world), or null at sea.
export function countryAt(features, latlng) {
  const { lat, lng } = L.latLng(latlng).wrap();
  const feature = features.find((f) => f.properties.country && containsPoint(f.geometry, lng, lat));
  return feature ? feature.properties.country : null;
}

function countryLayer(features, code, colour, { fill = 0.35, weight = 2 } = {}) {
  return L.geoJSON({ type: "FeatureCollection", features: features.filter((f) => f.properties.country === code) },
    { interactive: false, style: { color: colour, weight, fillColor: colour, fillOpacity: fill } });
}

// Picking a country: {get(), clear(), placeAtCentre()}, as the point game's guessPicker; get() is the guess body.
export function countryPicker(map, onChange) {
  const select = document.getElementById("country-select");
  const chosen = document.getElementById("country-choice");
  document.getElementById("country-box").hidden = false;
  document.getElementById("guess-hint").textContent =
    "Click a country on the map, or choose it from the list, then press Guess (or Space or Enter).";
  let features = [];
  let code = null;
  let highlight = null;
  loadCountries().then((data) => { features = data.features; }).catch(() => {});
  api("/api/catalogue").then(({ countries }) => {
    const named = countries.map((c) => ({ c, name: countryName(c) })).sort((a, b) => a.name.localeCompare(b.name));
    select.append(...named.map(({ c, name }) => element("option", { value: c }, name)));
  }).catch(() => {});

  function choose(next) {
    code = next || null;
    select.value = code || "";
    chosen.textContent = code ? countryName(code) : "";
    if (highlight) highlight.remove();
    highlight = code ? countryLayer(features, code, cssColour("--human")).addTo(map) : null;
    if (code) onChange(code);
  }
  map.on("click", (event) => choose(countryAt(features, event.latlng) || code));
  select.addEventListener("change", () => choose(select.value));
  return {
    get: () => (code ? { country: code } : null),
    placeAtCentre: () => choose(countryAt(features, map.getCenter()) || code),
    clear: () => choose(null),
  };
}

// A streak round on a map: the true country and the one named, PlaNet's guess (and cells) and the true place.
export function drawStreakRound(layers, reveal, { cells }) {
  const truth = L.latLng(reveal.truth.latitude, reveal.truth.longitude);
  const points = [truth];
  loadCountries().then(({ features }) => {
    if (reveal.human.country && !reveal.human.right) {
      countryLayer(features, reveal.human.country, cssColour("--human"), { fill: 0.25 }).addTo(layers);
    }
    countryLayer(features, reveal.truth.country, cssColour("--truth")).addTo(layers);
  }).catch(() => {});
  if (reveal.model.status === "ready") {
    const model = L.latLng(reveal.model.latitude, reveal.model.longitude);
    if (cells && reveal.model.top_cells) cellLayer(reveal.model.top_cells).addTo(layers);
    pin(model, "model", `PlaNet's guess: ${countryName(reveal.model.country) || "no country"}`).addTo(layers);
    points.push(model);
  }
  pin(truth, "truth", "True location").setZIndexOffset(2000).addTo(layers);
  return points;
}

function verdict(right) {
  return element("span", { class: `verdict ${right ? "right" : "wrong"}` }, right ? "right" : "wrong");
}

function modelLine(model) {
  if (model.status === "pending") return "PlaNet is still thinking…";
  if (model.status !== "ready") return "PlaNet made no guess this round.";
  return [`PlaNet said ${countryName(model.country) || "somewhere at sea"}: `, verdict(model.right), "."];
}

function streaks(streak) {
  return element("p", { id: "streaks", class: "streaks" }, `Your streak: ${streak.human} · PlaNet's streak: ${streak.model}`);
}

// The reveal's words: {title, parts}.
export function streakReveal(reveal) {
  const { human, truth, streak } = reveal;
  const place = [countryName(truth.country), truth.continent].filter(Boolean).join(", ");
  return {
    title: `Round ${reveal.number}: ${human.right ? "right!" : human.timed_out ? "time ran out" : "wrong"}`,
    parts: [
      element("p", {}, "The photo was taken in ", element("strong", { id: "streak-truth" }, place), "."),
      element("p", {}, human.timed_out ? "Time ran out: " : `You said ${countryName(human.country)}: `,
        verdict(human.right), "."),
      element("p", {}, modelLine(reveal.model)),
      streaks(streak),
      streak.ended ? element("p", { class: "hint" }, "Your streak ends here.") : null,
    ],
  };
}

// The end of a streak: {title, parts}. PlaNet played the same rounds: say whether its streak outlived yours.
export function streakSummary(game, reveals) {
  const { human, model, model_alive: alive } = game.streak;
  const planet = alive
    ? `PlaNet's streak was still alive when yours ended: it named all ${reveals.length} countries.`
    : `PlaNet's streak had ended: it named ${model} in a row.`;
  return {
    title: `Streak over: you ${human}, PlaNet ${model}`,
    parts: [
      element("p", { id: "streak-summary" }, `You named ${human} ${human === 1 ? "country" : "countries"} in a row. `, planet),
      element("div", { class: "table-scroll" }, element("table", { id: "summary-table" },
        element("thead", {}, element("tr", {}, ["Round", "Country", "You", "PlaNet"].map((h) => element("th", { scope: "col" }, h)))),
        element("tbody", {}, reveals.map((r) => element("tr", {},
          element("td", {}, r.number), element("td", {}, countryName(r.truth.country)),
          element("td", {}, r.human.timed_out ? "timed out" : countryName(r.human.country), " ", verdict(r.human.right)),
          element("td", {}, r.model.status === "ready"
            ? [countryName(r.model.country) || "at sea", " ", verdict(r.model.right)] : "—")))))),
    ],
  };
}

// Spoiler-free: the streaks and a square per round, no country or place.
export function streakShareText(game, reveals) {
  const square = (right) => (right ? "🟩" : "🟥");
  return [
    `PlaNet Arena · ${game.set} · country streak`,
    `Me ${game.streak.human} · PlaNet ${game.streak.model}${game.streak.model_alive ? " (still going)" : ""}`,
    `Me     ${reveals.map((r) => square(r.human.right)).join("")}`,
    `PlaNet ${reveals.map((r) => square(r.model.right)).join("")}`,
    `${location.origin}/`,
  ].join("\n");
}
