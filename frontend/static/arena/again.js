// The end of a game's two ways on: share the result as text, or play again (a room plays its rematch together; a
// solo game starts a fresh game with the same settings; a daily try has no second try, so it offers neither).
import { api, toast } from "./api.js";

export async function share(text) {
  const box = document.getElementById("share-text");
  box.value = text || "";
  box.hidden = false;
  box.select();
  try {
    await navigator.clipboard.writeText(box.value);
    toast("Result copied: paste it anywhere.");
  } catch {
    toast("Copy the text below to share your result.");
  }
}

export async function playAgain(game) {
  if (game.daily) return; // one try a day: the button is hidden, and a stray call starts nothing
  const name = localStorage.getItem("arena.name") || undefined;
  if (game.players.length > 1) {
    // A room plays again together: the first to ask makes the next game, the others are seated in it.
    const again = await api(`/api/games/${game.game}/rematch`, { method: "POST", body: { name } });
    location.assign(`/play/${again.game}?room=1`);
    return;
  }
  const again = await api("/api/games", { method: "POST", body: {
    set: game.set, model: game.model, rounds: game.round_count, time_limit_s: game.time_limit_s, mode: game.mode,
    goal: game.goal, name,
  } });
  location.assign(`/play/${again.game}`);
}
