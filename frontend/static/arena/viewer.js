// The round's view. A photo is an <img> (zoomable unless the mode is NMPZ); an equirectangular panorama
// opens in pannellum (vendored) at the round's heading. NMPZ panoramas arrive from the server already
// rendered as their fixed opening view, so the client never holds more than the player may see.
import { element } from "./api.js";

let panorama = null;

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
  container.replaceChildren();
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
  // Without WebGL a panorama is shown flat; it scrolls sideways like a strip.
  const frame = element("div", { class: "zoomable", tabindex: "0", role: "region",
    "aria-label": `${described}; press Z or click to zoom` });
  if (view.kind === "equirectangular") image.classList.add("zoomed");
  frame.append(image);
  const toggle = () => image.classList.toggle("zoomed");
  image.addEventListener("click", toggle);
  frame.addEventListener("keydown", (event) => { if (event.key === "z") toggle(); });
  frame.style.height = "100%";
  container.append(frame);
}
