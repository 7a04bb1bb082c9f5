// A photo viewer: the mouse wheel and a pinch zoom around the pointer, a drag pans, a double click zooms in
// (and out again), the keyboard does the same (+ and - zoom, 0 resets and F goes full screen through `key`, which
// the page calls wherever the focus is; the arrows pan a zoomed photo that has the focus), and a button takes the view full screen. The image keeps its box; a CSS transform moves it.
import { element } from "./api.js";
import { svg } from "./svg.js";

const MAX_SCALE = 8;
const KEY_PAN_PX = 60;

export function panZoom(frame, image, { arrowsPan = true } = {}) {
  let scale = 1, x = 0, y = 0;
  const pointers = new Map();
  let pinch = null;

  const apply = () => {
    const { width, height } = frame.getBoundingClientRect();
    scale = Math.min(MAX_SCALE, Math.max(1, scale));
    x = Math.min(0, Math.max(width * (1 - scale), x)); // the photo always covers the frame it zooms in
    y = Math.min(0, Math.max(height * (1 - scale), y));
    image.style.transform = `translate(${x}px, ${y}px) scale(${scale})`;
    frame.classList.toggle("zoomed-in", scale > 1);
    frame.dataset.scale = scale.toFixed(2);
  };
  // Zoom to `next` keeping the frame point (px, py) on the same spot of the photo.
  const zoomAt = (next, px, py) => {
    const bounded = Math.min(MAX_SCALE, Math.max(1, next));
    x = px - (px - x) * (bounded / scale);
    y = py - (py - y) * (bounded / scale);
    scale = bounded;
    apply();
  };
  const local = (event) => {
    const box = frame.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  const centre = () => {
    const { width, height } = frame.getBoundingClientRect();
    return [width / 2, height / 2];
  };

  image.style.transformOrigin = "0 0";
  frame.dataset.scale = "1.00";
  frame.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoomAt(scale * Math.exp(-event.deltaY * 0.002), ...local(event));
  }, { passive: false });
  frame.addEventListener("dblclick", (event) => zoomAt(scale > 1 ? 1 : 2.5, ...local(event)));
  frame.addEventListener("pointerdown", (event) => {
    try { frame.setPointerCapture(event.pointerId); } catch { /* a pointer the browser no longer tracks */ }
    pointers.set(event.pointerId, local(event));
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { distance: Math.hypot(a[0] - b[0], a[1] - b[1]), scale };
    }
  });
  frame.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId)) return;
    const [px, py] = local(event);
    const [lastX, lastY] = pointers.get(event.pointerId);
    pointers.set(event.pointerId, [px, py]);
    if (pointers.size === 2 && pinch) {
      const [a, b] = [...pointers.values()];
      zoomAt(pinch.scale * Math.hypot(a[0] - b[0], a[1] - b[1]) / pinch.distance, (a[0] + b[0]) / 2,
        (a[1] + b[1]) / 2);
    } else if (pointers.size === 1 && scale > 1) {
      x += px - lastX;
      y += py - lastY;
      apply();
    }
  });
  const release = (event) => {
    pointers.delete(event.pointerId);
    if (pointers.size < 2) pinch = null;
  };
  frame.addEventListener("pointerup", release);
  frame.addEventListener("pointercancel", release);

  // Drawn, not a character: no font installed on these machines has U+26F6, which showed as an empty box.
  const fullscreen = element("button", { type: "button", class: "secondary fullscreen-toggle",
    "aria-label": "Full screen (F)", title: "Full screen (F)" }, fullscreenIcon());
  const toggleFullscreen = () => (document.fullscreenElement ? document.exitFullscreen()
    : frame.requestFullscreen()).catch(() => {});
  fullscreen.addEventListener("click", toggleFullscreen);
  fullscreen.addEventListener("pointerdown", (event) => event.stopPropagation());
  // The zoom keys come from the page (keys.js: they work wherever the focus is); the frame's own keys pan.
  const zoomKey = (key) => {
    if (key === "+" || key === "=") zoomAt(scale * 1.5, ...centre());
    else if (key === "-") zoomAt(scale / 1.5, ...centre());
    else if (key === "0") zoomAt(1, ...centre());
    else if (key === "f" || key === "F") toggleFullscreen();
    else return false;
    return true;
  };
  frame.addEventListener("keydown", (event) => {
    const pans = { ArrowLeft: [KEY_PAN_PX, 0], ArrowRight: [-KEY_PAN_PX, 0], ArrowUp: [0, KEY_PAN_PX],
      ArrowDown: [0, -KEY_PAN_PX] };
    if (!(arrowsPan && pans[event.key] && scale > 1)) return;
    x += pans[event.key][0];
    y += pans[event.key][1];
    apply();
    event.preventDefault();
    event.stopPropagation();
  });
  // On the frame, not the document: a listener per round's frame would outlive the round.
  frame.addEventListener("fullscreenchange", () => requestAnimationFrame(apply));
  frame.append(fullscreen);
  return { reset: () => { scale = 1; x = 0; y = 0; apply(); }, key: zoomKey };
}

// Four corners pointing out: the usual "full screen" sign, in the button's text colour.
function fullscreenIcon() {
  return svg("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" },
    svg("path", { d: "M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5", fill: "none", stroke: "currentColor",
      "stroke-width": "2.5", "stroke-linecap": "round", "stroke-linejoin": "round" }));
}
