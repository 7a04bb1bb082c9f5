// A room's round after the player has locked and before everyone has: the screen keeps what the player had — the
// photo they guessed on, their own pin on the map and the round's clock — and says how many have guessed. Nothing
// of the truth or anyone else's guess is known to the page yet (the server sends none).
import { element } from "./api.js";
import { pin } from "./worldmap.js";

let clock = null;

export function stopWaitingClock() {
  clearInterval(clock);
  clock = null;
}

// "Round closes in 0:23" until the deadline, in `node`; nothing for a round with no time limit.
function waitingClock(node, deadline) {
  stopWaitingClock();
  if (!deadline) return null;
  const end = Date.parse(deadline);
  const tick = () => {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    node.textContent = left ? `Round closes in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`
      : "Time is up: the answer is on its way.";
    if (!left) stopWaitingClock();
  };
  tick();
  clock = setInterval(tick, 1000);
  return node;
}

// The player's own pin on `layers`; the points to fit the map to.
export function drawOwnGuess(layers, waiting) {
  const human = waiting.human || {};
  if (human.latitude === null || human.latitude === undefined) return [];
  const where = L.latLng(human.latitude, human.longitude);
  pin(where, "human", "Your guess").addTo(layers);
  return [where];
}

// The words and the photo beside the map. `view` is the round as served (null after a reload: no photo then).
export function waitingParts(waiting, view) {
  const image = view && view.number === waiting.number ? (view.views ? view.views[0].image_url : view.image_url)
    : null;
  return [
    element("p", { id: "waiting" }, `Waiting for the room: ${waiting.guessed} of ${waiting.players} have guessed. `,
      "Everyone sees the answer together."),
    waiting.human && waiting.human.timed_out ? element("p", { class: "hint" }, "Time ran out before your pin.") : null,
    waitingClock(element("p", { class: "countdown-line", id: "waiting-clock", role: "timer" }), waiting.deadline),
    image ? element("img", { class: "waiting-photo", id: "waiting-photo", src: image,
      alt: `Round ${waiting.number}: the view you guessed on` }) : null,
  ];
}
