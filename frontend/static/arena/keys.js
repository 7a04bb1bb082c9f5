// The game's keys, wherever the focus is (except while typing in a field): in a round Space or Enter locks the
// guess (also when a view button or the full-screen button had the focus after a click), P puts the pin at the
// map's centre, the arrows look around a multi-view place (outside the map, whose arrows pan it), + and − zoom
// the photo and F takes it full screen (on the map + and − zoom the map, as Leaflet does); on a reveal Enter goes
// on to the next round.
import { stepView, zoomView } from "./viewer.js";

const TYPING = ["INPUT", "SELECT", "TEXTAREA"];

// hooks: { inRound(), onReveal(), hasGuess(), guess(), placeAtCentre(), next() }
export function gameKeys(hooks) {
  return (event) => {
    const target = event.target;
    if (TYPING.includes(target.tagName) || target.isContentEditable || event.ctrlKey || event.metaKey ||
        event.altKey) return;
    const inMap = Boolean(target.closest(".leaflet-container"));
    if (hooks.inRound()) {
      if (event.key === " " || event.key === "Enter") {
        // A button of the viewer (◀ ▶, full screen) keeps the focus after a click: with a pin placed, the keys
        // still guess, as the hint says. Any other button (Guess itself included) does what it says.
        const viewerButton = target.tagName === "BUTTON" && target.closest("#viewer");
        if (target.tagName === "BUTTON" && !(viewerButton && hooks.hasGuess())) return;
        event.preventDefault();
        hooks.guess();
      } else if (event.key === "p" || event.key === "P") {
        hooks.placeAtCentre();
      } else if (["ArrowLeft", "ArrowRight"].includes(event.key) && !inMap) {
        if (stepView(event.key === "ArrowLeft" ? -1 : 1)) event.preventDefault();
      } else if (["+", "=", "-", "0", "f", "F"].includes(event.key) && !target.closest(".pnlm-container") &&
          !(inMap && event.key !== "f" && event.key !== "F")) {
        // (a focused panorama zooms itself with + and −; the map keeps its own + and −)
        if (zoomView(event.key)) event.preventDefault();
      }
    } else if (hooks.onReveal() && event.key === "Enter" && target.tagName !== "BUTTON" &&
        !(target.tagName === "A")) {
      event.preventDefault();
      hooks.next();
    }
  };
}
