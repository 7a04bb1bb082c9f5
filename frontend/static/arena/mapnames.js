// Place names on the offline map: countries, cities and (fetched once the player zooms in) towns, each from the
// zoom the build gave it (planet_engine/map_labels.py). A name is drawn only where it overlaps no name drawn before
// it and no pin: the lists come in order of priority (countries, then cities by population), so a crowded view
// keeps Zagreb and drops the smaller name beside it rather than printing one over the other.
import { element } from "./api.js";

const SETTINGS = document.querySelector("[data-countries-url]")?.dataset || {};
const PLACES_URL = SETTINGS.placesUrl || "/static/map/places.json";
const TOWNS_URL = SETTINGS.townsUrl || "/static/map/towns.json";
// The fonts of .place-name (arena.css): a name's box is measured with them before it is drawn.
const FONTS = { country: "600 10px system-ui, sans-serif", city: "11px system-ui, sans-serif" };
const COUNTRY_LETTER_SPACING = 0.8; // px: 0.08em of 10px
const LINE_HEIGHT = 13;
const GAP = 3; // px kept free around every name and pin
let places = null;
let towns = null;
let measuring = null;

function loadJson(url, what) {
  return fetch(url).then((response) => {
    if (!response.ok) throw new Error(`${what} unavailable (${response.status})`);
    return response.json();
  });
}

// Priority: the zoom from which a name belongs on the map, cities before countries at the same zoom (Zagreb
// before CROATIA), so a zoomed-in view names its towns rather than printing a country over them.
function byRank(places) {
  return places.sort((a, b) => a.rank - b.rank);
}

function loadPlaces() {
  places ??= loadJson(PLACES_URL, "place names").then((data) => ({
    attribution: data.attribution,
    townsZoom: data.towns_min_zoom,
    all: byRank([
      ...data.cities.map(([name, lat, lng, zoom]) => ({ name, lat, lng, zoom, rank: zoom, kind: "city" })),
      // A country's name shows from a zoom before Natural Earth's own: collisions, not a fixed zoom, keep the view
      // clear; a city-state's name is its capital's (Monaco), drawn once.
      ...data.countries.filter(([name]) => !data.cities.some(([city]) => city === name))
        .map(([name, lat, lng, zoom]) => ({ name, lat, lng, zoom: zoom - 1, rank: zoom, kind: "country" })),
    ]),
  }));
  return places;
}

function loadTowns() {
  towns ??= loadJson(TOWNS_URL, "town names").then((data) => ({
    all: data.towns.map(([name, lat, lng, zoom]) => ({ name, lat, lng, zoom, rank: zoom, kind: "city town" })),
  }));
  return towns;
}

function textWidth(text, kind) {
  measuring ??= document.createElement("canvas").getContext("2d");
  const country = kind === "country";
  measuring.font = country ? FONTS.country : FONTS.city;
  const shown = country ? text.toUpperCase() : text;
  return measuring.measureText(shown).width + (country ? COUNTRY_LETTER_SPACING * shown.length : 0);
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

// The boxes (container pixels) of the map's pins and controls (zoom buttons, credit), which a name must leave free.
function pinBoxes(map) {
  const frame = map.getContainer().getBoundingClientRect();
  const boxes = [...map.getContainer().querySelectorAll(".leaflet-control")].map((control) => {
    const box = control.getBoundingClientRect();
    return { left: box.left - frame.left - GAP, right: box.right - frame.left + GAP,
      top: box.top - frame.top - GAP, bottom: box.bottom - frame.top + GAP };
  });
  map.eachLayer((layer) => {
    if (!isPin(layer)) return;
    const point = map.latLngToContainerPoint(layer.getLatLng());
    const [width, height] = layer.options.icon.options.iconSize || [20, 20];
    boxes.push({ left: point.x - width / 2 - GAP, right: point.x + width / 2 + GAP,
      top: point.y - height / 2 - GAP, bottom: point.y + height / 2 + GAP });
  });
  return boxes;
}

export function isPin(layer) {
  return layer instanceof L.Marker && /\bmap-pin\b/.test(layer.options.icon?.options?.className || "");
}

// The names that fit the view at this zoom, in priority order, as {place, lng, point}.
function fitting(map, candidates) {
  const zoom = map.getZoom();
  const size = map.getSize();
  const bounds = map.getBounds().pad(0.05);
  const taken = pinBoxes(map);
  const shown = [];
  for (const place of candidates) {
    if (place.zoom > zoom + 1e-6) continue;
    const lng = [place.lng, place.lng + 360, place.lng - 360].find((x) => bounds.contains([place.lat, x]));
    if (lng === undefined) continue;
    const point = map.latLngToContainerPoint([place.lat, lng]);
    place.width ??= textWidth(place.name, place.kind);
    const box = { left: point.x - place.width / 2 - GAP, right: point.x + place.width / 2 + GAP,
      top: point.y - LINE_HEIGHT / 2 - GAP, bottom: point.y + LINE_HEIGHT / 2 + GAP };
    if (box.left < 0 || box.top < 0 || box.right > size.x || box.bottom > size.y) continue;
    if (taken.some((other) => overlaps(box, other))) continue;
    taken.push(box);
    shown.push({ place, lng });
  }
  return shown;
}

// Names on `map`, redrawn after every move and whenever a pin is added, moved or removed. Returns the credit
// text to show (a promise), so the map can name its sources once they are known.
export function addPlaceNames(map) {
  const pane = map.createPane("places");
  pane.style.zIndex = 450; // above the lines and cells (overlay pane, 400), under the pins (marker pane, 600)
  pane.style.pointerEvents = "none";
  const layer = L.layerGroup().addTo(map);
  let candidates = [];
  let frame = 0;
  const draw = () => {
    frame = 0;
    layer.clearLayers();
    for (const { place, lng } of fitting(map, candidates)) {
      layer.addLayer(L.marker([place.lat, lng], {
        icon: L.divIcon({ className: `place-name ${place.kind}`, html: element("span", {}, place.name),
          iconSize: null }),
        interactive: false, keyboard: false, pane: "places",
      }));
    }
  };
  const redraw = () => { frame ||= requestAnimationFrame(draw); };
  map.on("moveend resize", redraw); // Leaflet ends every zoom with a moveend too: one redraw per change
  map.on("layeradd layerremove", (event) => { if (isPin(event.layer)) redraw(); });
  map.on("pinmoved", redraw); // worldmap.js's guess pin, moved by a click or a drag
  return loadPlaces().then(({ attribution, townsZoom, all }) => {
    candidates = all;
    // The towns' file only once the player zooms in that far (it is bigger than everything else on the page).
    const fetchTowns = () => {
      if (map.getZoom() < townsZoom) return;
      map.off("zoomend", fetchTowns);
      loadTowns().then((loaded) => { candidates = byRank([...candidates, ...loaded.all]); redraw(); }).catch(() => {});
    };
    map.on("zoomend", fetchTowns);
    fetchTowns();
    redraw();
    return attribution;
  });
}
