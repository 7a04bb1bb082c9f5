// The world map: Leaflet with no tile server. The sea is the container's background colour and the land
// is Natural Earth's countries as GeoJSON (built into /static/map/ at build time), so it renders offline.
// Leaflet (window.L) and @turf/great-circle (window.turfGreatCircle) come from the vendored bundle.
// Leaflet sets a string tooltip, popup or attribution as HTML: every string here goes in as text.
import { element } from "./api.js";

const MAP_SETTINGS = document.querySelector("[data-countries-url]")?.dataset || {};
const COUNTRIES_URL = MAP_SETTINGS.countriesUrl || "/static/map/countries.json";
// Country and city names with the zoom from which each is shown (planet_engine/map_labels.py).
const PLACES_URL = MAP_SETTINGS.placesUrl || "/static/map/places.json";
// A deployment's tile server (PLANET_MAP_TILE_URL); unset by default, so nothing leaves the game's host.
const TILE_URL = MAP_SETTINGS.tileUrl || "";
let countries = null;
let places = null;

// The borders as GeoJSON, fetched once per page (the streak's picker finds the country under a click in them).
export function loadCountries() {
  countries ??= fetch(COUNTRIES_URL).then((response) => {
    if (!response.ok) throw new Error(`country borders unavailable (${response.status})`);
    return response.json().then(dequantised);
  });
  return countries;
}

// The file's rings are whole steps of `scale` degrees, each vertex the difference from the one before
// (planet_engine/borders.py, `quantised`): back to GeoJSON coordinates.
function dequantised(data) {
  const { scale } = data.quantisation;
  const ring = (points) => {
    let x = 0, y = 0;
    return points.map(([dx, dy]) => { x += dx; y += dy; return [x * scale, y * scale]; });
  };
  for (const feature of data.features) {
    const geometry = feature.geometry;
    geometry.coordinates = geometry.type === "Polygon" ? geometry.coordinates.map(ring)
      : geometry.coordinates.map((polygon) => polygon.map(ring));
  }
  return data;
}

function loadPlaces() {
  places ??= fetch(PLACES_URL).then((response) => {
    if (!response.ok) throw new Error(`place names unavailable (${response.status})`);
    return response.json();
  }).then((data) => ({
    attribution: data.attribution,
    all: [...data.countries.map(([name, lat, lng, zoom]) => ({ name, lat, lng, zoom: zoom - 0.5, kind: "country" })),
      ...data.cities.map(([name, lat, lng, zoom]) => ({ name, lat, lng, zoom, kind: "city" }))],
  }));
  return places;
}

// Names on the map by zoom level: countries first, then ever smaller cities as the player zooms in. Only the
// names inside the view are drawn, on whichever copy of the world the view shows.
function addPlaceNames(map) {
  const pane = map.createPane("places");
  pane.style.zIndex = 350; // above the land, under the guesses and cells
  pane.style.pointerEvents = "none";
  const layer = L.layerGroup().addTo(map);
  loadPlaces().then(({ attribution, all }) => {
    map.attributionControl.addAttribution(htmlEscaped(attribution));
    const draw = () => {
      layer.clearLayers();
      const zoom = map.getZoom();
      const bounds = map.getBounds().pad(0.1);
      for (const place of all) {
        if (place.zoom > zoom + 1e-6) continue;
        const lng = [place.lng, place.lng + 360, place.lng - 360].find((x) => bounds.contains([place.lat, x]));
        if (lng === undefined) continue;
        const label = element("span", {}, place.name);
        layer.addLayer(L.marker([place.lat, lng], {
          icon: L.divIcon({ className: `place-name ${place.kind}`, html: label, iconSize: null }),
          interactive: false, keyboard: false, pane: "places",
        }));
      }
    };
    map.on("moveend", draw); // Leaflet ends every zoom with a moveend too: one redraw per change
    draw();
  }).catch(() => {}); // names are a help; the map plays without them
}

function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function createWorldMap(container) {
  const map = L.map(container, {
    worldCopyJump: true, minZoom: 1, maxZoom: 12, zoomSnap: 0.5,
    maxBounds: [[-89, -540], [89, 540]], maxBoundsViscosity: 0.8,
  });
  map.setView([20, 0], 1.5);
  map.createPane("land").style.zIndex = 250; // under the guesses, lines and cells (overlay pane, 400)
  map.attributionControl.setPrefix(false);
  if (TILE_URL) {
    L.tileLayer(TILE_URL, { attribution: htmlEscaped(MAP_SETTINGS.tileAttribution || ""), maxZoom: 12 }).addTo(map);
    return map;
  }
  map.attributionControl.addAttribution("Borders: Natural Earth (public domain)");
  addPlaceNames(map);
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
      marker.on("dragend", () => { marker.setLatLng(marker.getLatLng().wrap()); onChange(marker.getLatLng()); });
    } else {
      marker.setLatLng(wrapped);
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
