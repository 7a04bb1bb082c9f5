// The round's view. A photo is an <img> (zoomable unless the mode is NMPZ); an equirectangular panorama
// opens in pannellum (vendored) at the round's heading. NMPZ panoramas arrive from the server already
// rendered as their fixed opening view, so the client never holds more than the player may see. A multi-view
// place (move mode) shows one of its views at a time, switched with the arrows beside it or the arrow keys; in
// no-move and NMPZ the server serves its first view alone, as a photo.
import { element } from "./api.js";
import { panZoom } from "./zoomer.js";

let panorama = null;
let switcher = null; // the multi-view round on screen: { step(delta) }
let zoomer = null; // the photo on screen, if it zooms: { key(key) } (zoomer.js)

// Which way a view faces, as the compass point the server sends (never where it is, nor an exact heading).
function compass(heading) {
  if (heading === null || heading === undefined) return "";
  const points = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
  return ` · facing ${points[Math.round(heading / 45) % 8]}`;
}

function showViews(container, view, onReady) {
  const views = view.views;
  let current = 0;
  const described = (n) => `Round ${view.number}: view ${n + 1} of ${views.length}, ${views[n].name}`;
  const image = element("img", { src: views[0].image_url, alt: described(0), draggable: "false" });
  image.addEventListener("load", () => onReady && onReady(), { once: true });
  const label = element("span", { class: "view-name", "aria-live": "polite" });
  const show = (n) => {
    current = (n + views.length) % views.length;
    image.src = views[current].image_url;
    image.alt = described(current);
    label.textContent = `${views[current].name}${compass(views[current].heading)} — ${current + 1}/${views.length}`;
  };
  const previous = element("button", { type: "button", class: "secondary view-step", id: "view-previous",
    "aria-label": "Previous view (left arrow)", onclick: () => show(current - 1) }, "◀");
  const next = element("button", { type: "button", class: "secondary view-step", id: "view-next",
    "aria-label": "Next view (right arrow)", onclick: () => show(current + 1) }, "▶");
  const frame = zoomFrame(image, `${described(0)}; wheel, pinch or + and - to zoom, drag to pan`);
  const zoom = panZoom(frame, image, { arrowsPan: false }); // the arrow keys switch views here
  zoomer = zoom;
  image.addEventListener("load", () => zoom.reset());
  container.append(frame, element("div", { class: "view-switcher" }, previous, label, next));
  for (const other of views.slice(1)) new Image().src = other.image_url; // switching shows them at once
  show(0);
  switcher = { step: (delta) => show(current + delta) };
}

// The arrow keys look around a multi-view place; false when the round on screen has one view.
export function stepView(delta) {
  if (!switcher) return false;
  switcher.step(delta);
  return true;
}

// + and − zoom the view on screen, 0 resets it, F takes it full screen; false when it does not zoom (NMPZ).
export function zoomView(key) {
  if (zoomer) return zoomer.key(key);
  if (!panorama) return false;
  if (key === "f" || key === "F") panorama.toggleFullscreen();
  else if (key === "+" || key === "=") panorama.setHfov(panorama.getHfov() - 10);
  else if (key === "-") panorama.setHfov(panorama.getHfov() + 10);
  else return false;
  return true;
}

function webglAvailable() {
  try {
    return Boolean(document.createElement("canvas").getContext("webgl"));
  } catch {
    return false;
  }
}

export function showView(container, view, { onReady } = {}) {
  if (panorama) {
    panorama.destroy();
    panorama = null;
  }
  switcher = null;
  zoomer = null;
  container.replaceChildren();
  if (view.kind === "multiview" && view.views && view.views.length > 1) return showViews(container, view, onReady);
  const described = `Round ${view.number}: ${view.kind === "equirectangular" ? "360° panorama" : "photo"}`;
  if (view.kind === "equirectangular" && webglAvailable()) {
    const holder = element("div", { class: "panorama", role: "img", "aria-label": described });
    container.append(holder);
    panorama = window.pannellum.viewer(holder, {
      type: "equirectangular", panorama: view.image_url, autoLoad: true, yaw: view.heading || 0,
      hfov: 100, minHfov: 40, maxHfov: 120, showFullscreenCtrl: false, compass: false,
      keyboardZoom: true, disableKeyboardCtrl: false, showControls: true,
    });
    panorama.on("load", () => onReady && onReady());
    return;
  }
  const image = element("img", { src: view.image_url, alt: described, draggable: "false" });
  image.addEventListener("load", () => onReady && onReady(), { once: true });
  if (view.mode === "nmpz") {
    container.append(image);
    return;
  }
  // A photo, or a panorama shown flat where there is no WebGL: zoom and pan it.
  const frame = zoomFrame(image, `${described}; wheel, pinch or + and - to zoom, drag to pan, F for full screen`);
  zoomer = panZoom(frame, image);
  container.append(frame);
}

function zoomFrame(image, label) {
  const frame = element("div", { class: "zoomable", tabindex: "0", role: "region", "aria-label": label });
  frame.append(image);
  return frame;
}
