// The reveal's motion, as the genre has it: the line from a guess to the truth drawn out from the guess, and the
// points counting up. Both are skipped where the player asked for less motion (prefers-reduced-motion): the final
// state at once. Timers, not animation frames: headless and background tabs may run no frames, and the end state
// must come regardless.
const LINE_MS = 800;
const COUNT_MS = 900;
const STEP_MS = 30;

export function reducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// `node` shows `value` (a whole number of points), counting up from 0 unless motion is reduced. The final value is
// in data-value at once.
export function countUp(node, value) {
  node.dataset.value = String(value);
  const final = value.toLocaleString("en");
  if (reducedMotion() || value <= 0) {
    node.textContent = final;
    return;
  }
  const started = performance.now();
  const step = () => {
    if (!node.isConnected) return;
    const share = Math.min(1, (performance.now() - started) / COUNT_MS);
    const eased = 1 - (1 - share) ** 3;
    node.textContent = share >= 1 ? final : Math.round(value * eased).toLocaleString("en");
    if (share < 1) setTimeout(step, STEP_MS);
  };
  node.textContent = "0";
  setTimeout(step, STEP_MS);
}

// Draws each SVG path in `root` matching `selector` out from its start (the guess: reveal.js draws the great
// circle from the guess to the truth), by its dash offset on a path length of 1 (no measuring, so no layout is
// forced while the reveal is being drawn): hidden at the first paint, drawn out from the next frame. Leaflet
// redraws paths on zoom, so the dash is removed once drawn.
export function drawLinesOut(root, selector = "path.guess-line") {
  if (reducedMotion()) return;
  const paths = [...root.querySelectorAll(selector)];
  for (const path of paths) {
    path.setAttribute("pathLength", "1");
    path.style.strokeDasharray = "1";
    path.style.strokeDashoffset = "1";
  }
  setTimeout(() => {
    for (const path of paths) {
      path.style.transition = `stroke-dashoffset ${LINE_MS}ms ease-out`;
      path.style.strokeDashoffset = "0";
    }
  }, STEP_MS);
  setTimeout(() => {
    for (const path of paths) {
      path.removeAttribute("pathLength");
      path.style.transition = path.style.strokeDasharray = path.style.strokeDashoffset = "";
    }
  }, STEP_MS + LINE_MS + 50);
}
