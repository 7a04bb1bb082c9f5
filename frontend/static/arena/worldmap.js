// The world map: Leaflet with no tile server. The sea is the container's background colour, the land is Natural
// Earth's countries as GeoJSON (built into /static/map/ at build time), and detail layers (state and province
// lines, lakes, rivers) and town names are fetched only once the player zooms in, so the first page stays small
// and everything renders offline. The map stops zooming where that data ends.
// Leaflet (window.L) and @turf/great-circle (window.turfGreatCircle) come from the vendored bundle.
// Leaflet sets a string tooltip, popup or attribution as HTML: every string here goes in as text.
import { element } from "./api.js";
import { addPlaceNames } from "./mapnames.js";

const MAP_SETTINGS = document.querySelector("[data-countries-url]")?.dataset || {};
const COUNTRIES_URL = MAP_SETTINGS.countriesUrl || "/static/map/countries.json";
// Each file says from which zoom it is drawn (planet_engine/map_layers.py); none is fetched before it is needed.
const DETAIL_LAYERS = [
  { name: "water", url: MAP_SETTINGS.waterUrl || "/static/map/water.json", fetchFrom: 3 },
  { name: "admin1", url: MAP_SETTINGS.admin1Url || "/static/map/admin1.json", fetchFrom: 4 },
];
// A deployment's tile server (PLANET_MAP_TILE_URL); unset by default, so nothing leaves the game's host.
const TILE_URL = MAP_SETTINGS.tileUrl || "";
// Where the offline data ends: borders simplified to about 2–5 km and towns of 15,000 people are all there is,
// so further in the map would show blank polygons.
export const MAX_ZOOM = 8;
// Below this width (a phone) the credit starts folded into its © button.
const WIDE_MAP_PX = 440;
let countries = null;
const detail = new Map();

function loadJson(url, what) {
  return fetch(url).then((response) => {
    if (!response.ok) throw new Error(`${what} unavailable (${response.status})`);
    return response.json();
  });
}

// The borders as GeoJSON, fetched once per page (the streak's picker finds the country under a click in them).
export function loadCountries() {
  countries ??= loadJson(COUNTRIES_URL, "country borders").then(dequantised);
  return countries;
}

// The file's lines and rings are whole steps of `scale` degrees, each vertex the difference from the one before
// (planet_engine/borders.py, `quantised`): back to GeoJSON coordinates.
function dequantised(data) {
  const { scale } = data.quantisation;
  const ring = (points) => {
    let x = 0, y = 0;
    return points.map(([dx, dy]) => { x += dx; y += dy; return [x * scale, y * scale]; });
  };
  for (const feature of data.features) {
    const geometry = feature.geometry;
    geometry.coordinates = ["Polygon", "MultiLineString"].includes(geometry.type) ? geometry.coordinates.map(ring)
      : geometry.type === "LineString" ? ring(geometry.coordinates)
        : geometry.coordinates.map((polygon) => polygon.map(ring));
  }
  return data;
}

function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function detailStyle(feature) {
  const kind = feature.properties.kind;
  if (kind === "lake") return { stroke: false, fillColor: cssColour("--ocean"), fillOpacity: 1 };
  if (kind === "river") return { color: cssColour("--river"), weight: 1, opacity: 0.9 };
  return { color: cssColour("--border"), weight: 0.7, opacity: 0.9, dashArray: "3 3" }; // admin-1 lines
}

// Detail layers drawn from their zoom on: fetched the first time the player gets there, then shown and hidden as
// the zoom crosses it. The container lists what is drawn (data-detail), for whoever needs to know.
function addDetailLayers(map, container) {
  const renderer = L.canvas({ pane: "detail", padding: 0.5 });
  const drawn = new Map();
  const update = () => {
    const zoom = map.getZoom();
    for (const spec of DETAIL_LAYERS) {
      if (zoom < spec.fetchFrom) {
        drawn.get(spec.name)?.remove();
        continue;
      }
      if (!detail.has(spec.name)) detail.set(spec.name, loadJson(spec.url, spec.name).then(dequantised));
      detail.get(spec.name).then((data) => {
        if (map.getZoom() < Math.max(spec.fetchFrom, data.min_zoom)) return;
        if (!drawn.has(spec.name)) {
          drawn.set(spec.name, L.geoJSON(data, { interactive: false, pane: "detail", renderer, style: detailStyle }));
        }
        drawn.get(spec.name).addTo(map);
      }).catch(() => {}).finally(() => {
        container.dataset.detail = [...drawn].filter(([, layer]) => map.hasLayer(layer)).map(([n]) => n).join(" ");
      });
    }
    container.dataset.detail = [...drawn].filter(([, layer]) => map.hasLayer(layer)).map(([name]) => name).join(" ");
  };
  map.on("zoomend", update);
  update();
}

// Leaflet's attribution control, kept to one short line: on a phone folded into a © button that opens it (a
// credit must never hide a pin), on a wide map open with the same button to fold it.
function compactCredit(map, container) {
  const control = map.attributionControl;
  control.setPrefix('<button type="button" class="credit-toggle" aria-label="Map credits">©</button>');
  const box = control.getContainer();
  box.classList.add("credit");
  box.classList.toggle("folded", container.clientWidth < WIDE_MAP_PX);
  L.DomEvent.disableClickPropagation(box);
  box.addEventListener("click", (event) => {
    if (event.target.closest(".credit-toggle")) box.classList.toggle("folded");
  });
}

export function createWorldMap(container) {
  const map = L.map(container, {
    worldCopyJump: true, minZoom: 1, maxZoom: MAX_ZOOM, zoomSnap: 0.5,
    maxBounds: [[-89, -540], [89, 540]], maxBoundsViscosity: 0.8,
  });
  // The zoom the player sees, on the container: the browser tests read it (the map object is the page's own).
  map.on("zoomend", () => { container.dataset.zoom = String(map.getZoom()); });
  map.setView([20, 0], 1.5);
  container.dataset.zoom = String(map.getZoom());
  map.createPane("land").style.zIndex = 250; // under the guesses, lines and cells (overlay pane, 400)
  map.createPane("detail").style.zIndex = 260; // lakes, rivers and state lines over the land
  compactCredit(map, container);
  if (TILE_URL) {
    L.tileLayer(TILE_URL, { attribution: htmlEscaped(MAP_SETTINGS.tileAttribution || ""), maxZoom: 12 }).addTo(map);
    map.setMaxZoom(12);
    return map;
  }
  map.attributionControl.addAttribution("Natural Earth");
  addPlaceNames(map).then((attribution) => {
    map.attributionControl.addAttribution(htmlEscaped(attribution));
  }).catch(() => {}); // names are a help; the map plays without them
  addDetailLayers(map, container);
  loadCountries().then((data) => {
    L.geoJSON(data, {
      interactive: false, pane: "land",
      renderer: L.canvas({ pane: "land", padding: 0.5 }), // one canvas for the borders; the rest stays SVG
      style: { color: cssColour("--border"), weight: 0.6, fillColor: cssColour("--land"), fillOpacity: 1 },
    }).addTo(map);
  }).catch(() => {
    container.append(element("p", { class: "map-warning" },
      "Country borders could not be loaded; the map still takes guesses."));
  });
  return map;
}

// A tooltip's content as a DOM node, so a player's name is shown as the text it is.
export function textTooltip(text) {
  return element("span", {}, text);
}

// Leaflet's attribution control only takes HTML strings (it joins them).
function htmlEscaped(text) {
  const escapes = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  return text.replace(/[&<>"']/g, (character) => escapes[character]);
}

export function pin(latlng, kind, label) {
  const size = kind === "truth" ? 22 : 18;
  return L.marker(latlng, {
    icon: L.divIcon({ className: `map-pin ${kind}`, iconSize: [size, size], iconAnchor: [size / 2, size / 2] }),
    title: label, alt: label, keyboard: true,
  });
}

// Guessing: a click places the pin, a later click (or a drag) moves it. Returns {get(), clear()}.
export function guessPicker(map, onChange) {
  let marker = null;
  function place(latlng) {
    const wrapped = L.latLng(latlng).wrap(); // a click on a repeated world copy is the same place
    if (!marker) {
      marker = pin(wrapped, "human", "Your guess").setZIndexOffset(1000);
      marker.options.draggable = true;
      marker.addTo(map);
      marker.on("dragend", () => {
        marker.setLatLng(marker.getLatLng().wrap());
        map.fire("pinmoved");
        onChange(marker.getLatLng());
      });
    } else {
      marker.setLatLng(wrapped);
      map.fire("pinmoved"); // the names clear the pin's new place (mapnames.js)
    }
    onChange(wrapped);
  }
  map.on("click", (event) => place(event.latlng));
  return {
    get: () => (marker ? marker.getLatLng() : null),
    placeAtCentre: () => place(map.getCenter()),
    clear() {
      if (marker) marker.remove();
      marker = null;
    },
  };
}

// A great-circle path from a to b, split at the antimeridian so Leaflet does not draw across the map.
export function greatCircle(a, b, style) {
  const start = [a.lng, a.lat];
  const end = [b.lng, b.lat];
  if (Math.abs(a.lat - b.lat) < 1e-9 && Math.abs(a.lng - b.lng) < 1e-9) return L.layerGroup();
  const line = window.turfGreatCircle(start, end, { npoints: 96 });
  return L.geoJSON(line, { interactive: false, style });
}

// The model's probability over S2 cells as a choropleth (PlaNet's Figure 1).
export function cellLayer(cells) {
  const layer = L.featureGroup();
  const top = Math.max(...cells.map((cell) => cell.probability), 1e-9);
  for (const cell of cells) {
    // Unwrap the ring's longitudes so a cell across the antimeridian stays one contiguous shape.
    const ring = [];
    for (const [lat, lng] of cell.polygon) {
      let unwrapped = lng;
      if (ring.length) {
        const previous = ring[ring.length - 1][1];
        while (unwrapped - previous > 180) unwrapped -= 360;
        while (unwrapped - previous < -180) unwrapped += 360;
      }
      ring.push([lat, unwrapped]);
    }
    const share = cell.probability / top;
    L.polygon(ring, {
      className: "model-cell",
      color: cssColour("--model"), weight: 1, opacity: 0.8,
      fillColor: cssColour("--model"), fillOpacity: 0.12 + 0.5 * share,
    }).bindTooltip(textTooltip(`${(100 * cell.probability).toFixed(1)}% (S2 cell ${cell.token})`)).addTo(layer);
  }
  return layer;
}
