// The game page: join if needed, then for each round show the view, take a guess on the map, reveal the
// truth with PlaNet's guess and cell probabilities, and end on a summary of all rounds.
// Everything comes from the JSON API; the websocket only says that something happened.
import { api, fill, toast } from "./api.js";
import { drawRound, revealParts, shareText, summaryParts } from "./reveal.js";
import { countryPicker, drawStreakRound, streakReveal, streakShareText, streakSummary } from "./streak.js";
import { createWorldMap, guessPicker } from "./worldmap.js";
import { showView } from "./viewer.js";
import { startCountdown, stopCountdown } from "./countdown.js";
import { gameKeys } from "./keys.js";
import { dailyEnding } from "./daily.js";
import { drawOwnGuess, stopWaitingClock, waitingParts } from "./waiting.js";
import { drawLinesOut } from "./motion.js";
import { playAgain, share } from "./again.js";

const root = document.getElementById("game");
const gameId = root.dataset.gameId;
const panels = ["room-panel", "join-panel", "round-panel", "reveal-panel", "summary-panel"]
  .reduce((all, id) => ({ ...all, [id]: document.getElementById(id) }), {});

const state = { game: null, view: null, reveal: null, guessMap: null, picker: null, revealMap: null,
  revealLayers: null, revealDrawn: null, waitTimer: null, submitting: false, socket: null, waitingForHost: false,
  modelReady: new Set() };

function show(...ids) {
  for (const id of ["join-panel", "round-panel", "reveal-panel", "summary-panel"]) panels[id].hidden = !ids.includes(id);
}

function fail(error, id = "page-error") {
  const box = document.getElementById(id);
  box.textContent = error.message || String(error);
  box.hidden = false;
}

// ---- room: invite link, standings, live events ----

function renderStandings() {
  const game = state.game;
  const room = game.players.length > 1 || new URLSearchParams(location.search).has("room");
  panels["room-panel"].hidden = !room;
  // Once the first round is served no one can join: the panel shrinks to the standings, leaving the round room.
  panels["room-panel"].classList.toggle("started", !game.joinable);
  document.getElementById("game").classList.toggle("in-room", room);
  document.getElementById("invite-link").value = `${location.origin}/play/${gameId}`;
  document.getElementById("standings").textContent = game.players
    .map((p) => `${p.name}${p.you ? " (you)" : ""}: ${p.total_points.toLocaleString("en")} pts, ` +
      `${p.rounds_played}/${game.round_count} rounds`).join(" · ");
  document.getElementById("total-points").textContent = game.streak
    ? `Streak: you ${game.streak.human} · PlaNet ${game.streak.model}`
    : `You ${game.total_points.toLocaleString("en")} · PlaNet ${game.total_model_points.toLocaleString("en")} pts`;
}

async function refreshGame() {
  state.game = await api(`/api/games/${gameId}`);
  renderStandings();
}

function connectSocket(delay = 500) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/games/${gameId}`);
  state.socket = socket;
  socket.addEventListener("message", (message) => onEvent(JSON.parse(message.data)).catch(() => {}));
  socket.addEventListener("close", (event) => {
    if (event.code === 4404) return;
    // Reconnect with backoff: events are hints, the API stays the truth, so nothing is lost meanwhile.
    setTimeout(() => connectSocket(Math.min(delay * 2, 10000)), delay);
  });
}

async function onEvent(event) {
  if (event.event === "player_joined") toast(`${event.name} joined the room`);
  if (event.event === "rematch") {
    toast("Rematch started: “Join the rematch”");
    document.getElementById("again-button").textContent = "Join the rematch";
  }
  // The host started a round: everyone waiting for it, or looking at the last reveal, moves on with them.
  const onReveal = state.game && roomGuest() && state.reveal && state.reveal.revealed !== false &&
    event.round > state.reveal.number;
  if (event.event === "round_started" && (state.waitingForHost || onReveal)) {
    state.waitingForHost = false;
    document.getElementById("next-button").disabled = false;
    document.getElementById("room-start").hidden = true;
    panels["room-panel"].classList.add("started");
    await refreshGame();
    await nextRound();
    return;
  }
  // Others' guesses only: the player knows their own (the toast covered the standings that say it anyway).
  const me = state.game && state.game.players.find((p) => p.you);
  // (the event may come before the guess's own answer: the round on screen, locked or being locked, is enough)
  const mine = me && event.name === me.name && state.view && state.view.number === event.round &&
    (state.submitting || Boolean(state.reveal));
  if (event.event === "player_guessed" && state.game && state.game.players.length > 1 && !mine) {
    toast(`${event.name} guessed round ${event.round} (${event.guesses}/${event.players})`);
  }
  if (event.event === "model_ready") {
    // Remembered for renderReveal: a guess locked moments after the photo appeared gets its answer while PlaNet
    // is still thinking, and this event can come while the page refreshes the game after it, with no reveal on
    // screen to redraw yet.
    state.modelReady.add(event.round);
    if (state.reveal && state.reveal.number === event.round && state.reveal.revealed &&
        state.reveal.model.status !== "ready") await refreshReveal(state.reveal.round);
  }
  if (["player_joined", "player_guessed", "round_complete"].includes(event.event)) {
    await refreshGame();
    if (state.reveal && event.event !== "player_joined" && event.round === state.reveal.number) {
      await refreshReveal(state.reveal.round);
    }
  }
}

// Redraw a round's reveal from the API, only while the player is still on it: an event that arrives late must not
// draw an old reveal over the next round or the summary.
async function refreshReveal(round) {
  const reveal = await api(`/api/rounds/${round}`);
  if (state.reveal && state.reveal.round === round && !panels["reveal-panel"].hidden) renderReveal(reveal);
}

// ---- joining ----

async function join(event) {
  event.preventDefault();
  const name = document.getElementById("join-name").value.trim();
  try {
    localStorage.setItem("arena.name", name);
    state.game = await api(`/api/games/${gameId}/join`, { method: "POST", body: name ? { name } : {} });
    renderStandings();
    await playOrWait();
  } catch (error) {
    fail(error, "join-error");
    if (error.data && error.data.offer) offerFreshGame(error.data.offer);
  }
}

// Joining closes when the first round is served (one person, one seat; nobody joins with answers in hand):
// a latecomer gets the same game, fresh.
function offerFreshGame(offer) {
  const button = document.getElementById("fresh-game-button");
  button.hidden = false;
  button.onclick = async () => {
    const name = document.getElementById("join-name").value.trim();
    const again = await api("/api/games", { method: "POST", body: { ...offer, name: name || undefined } });
    location.assign(`/play/${again.game}`);
  };
}

// A room fills up before its first round (joining closes then): the host starts the game when everyone is in;
// the others wait for the host's round_started. A solo game starts at once.
async function playOrWait() {
  const game = state.game;
  const room = game.players.length > 1 || new URLSearchParams(location.search).has("room");
  if (!room || !game.joinable) return nextRound();
  show();
  panels["room-panel"].hidden = false;
  document.getElementById("room-start").hidden = false;
  const host = game.players.length && game.players[0].you;
  document.getElementById("start-button").hidden = !host;
  document.getElementById("room-wait").textContent = host
    ? "Share the invite link; start when everyone has joined (no one can join after the first round)."
    : "You are in. The game starts when the host starts it.";
  state.waitingForHost = !host;
}

async function startGame() {
  document.getElementById("room-start").hidden = true;
  panels["room-panel"].classList.add("started");
  state.waitingForHost = false;
  await nextRound();
}

// ---- a round ----

const roomGuest = () => state.game.players.length > 1 && !state.game.players[0].you;

function waitForHost(number) {
  state.waitingForHost = true;
  Object.assign(document.getElementById("next-button"), { disabled: true,
    textContent: `Waiting for the host to start round ${number}…` });
}

async function nextRound() {
  const pending = state.game.rounds.find((r) => !r.locked);
  if (!pending) return showSummary();
  if (!pending.round && roomGuest()) {
    // In a room the host starts each round (the server refuses anyone else): wait here for its round_started.
    await refreshGame();
    if (!state.game.rounds.find((r) => r.number === pending.number).round) return waitForHost(pending.number);
  }
  const view = await api(`/api/games/${gameId}/rounds/${pending.number}/start`, { method: "POST", body: {} });
  state.view = view;
  state.reveal = null;
  show("round-panel");
  // A country streak has no last round: it goes on while the player names the right country.
  document.getElementById("round-title").textContent = state.game.streak
    ? `Round ${view.number} · streak ${state.game.streak.human}` : `Round ${view.number} of ${state.game.round_count}`;
  document.getElementById("guess-error").hidden = true;
  showView(document.getElementById("viewer"), view);
  if (!state.guessMap) {
    state.guessMap = createWorldMap(document.getElementById("guess-map"));
    const enable = () => { document.getElementById("guess-button").disabled = false; };
    state.picker = (state.game.streak ? countryPicker : guessPicker)(state.guessMap, enable);
    // The reveal's map is made now, while the player looks at the photo (hidden, it is sized when shown): one
    // map for every round's reveal, its borders drawn once.
    state.revealMap ??= createWorldMap(document.getElementById("reveal-map"));
    root.classList.toggle("streak", Boolean(state.game.streak)); // the layout makes room for the country list
  }
  state.picker.clear();
  state.guessMap.invalidateSize();
  state.guessMap.setView([20, 0], 1.5);
  document.getElementById("guess-button").disabled = true;
  startCountdown(view.deadline, () => submitGuess({ timeUp: true }));
  // Each round starts with the focus on its title (not lost to the page): a screen reader says the round, and the
  // keys (keys.js) work from there.
  document.getElementById("round-title").focus({ preventScroll: true });
}

async function submitGuess({ timeUp = false } = {}) {
  if (state.submitting || !state.view || state.reveal) return;
  const guess = state.picker.get();
  if (!guess && !timeUp) return;
  state.submitting = true;
  document.getElementById("guess-button").disabled = true;
  // When time runs out, a pin already on the map still counts as the guess.
  const body = guess ? (guess.country ? guess : { latitude: guess.lat, longitude: guess.lng }) : { timed_out: true };
  try {
    const reveal = await api(`/api/rounds/${state.view.round}/guess`, { method: "POST", body });
    stopCountdown();
    // The reveal is drawn from the guess's answer at once; the game's standings follow in the background (waiting
    // for them first put a whole request between the answer and PlaNet's pin).
    const locked = state.game.rounds.find((r) => r.number === reveal.number);
    if (locked) locked.locked = true;
    renderReveal(reveal);
    refreshGame().then(() => { if (state.reveal === reveal) nameNextStep(); }).catch(() => {});
  } catch (error) {
    fail(error, "guess-error");
    document.getElementById("guess-button").disabled = !state.picker.get();
  } finally {
    state.submitting = false;
  }
}

// ---- the reveal ----

// Locked, but the room has not all guessed: no truth, no distances, no points until everyone has (or time is up).
function renderWaiting(waiting) {
  show("reveal-panel");
  panels["reveal-panel"].classList.add("waiting");
  document.getElementById("reveal-title").textContent = `Round ${waiting.number}: guess locked`;
  document.getElementById("next-button").hidden = true;
  const points = drawOnRevealMap((layers) => drawOwnGuess(layers, waiting));
  // Centred on the pin once: the screen is redrawn every few seconds, and the player may have moved the map.
  if (state.waitingShown !== waiting.round) state.revealMap.setView(points[0] || [20, 0], points.length ? 3 : 1.5);
  state.waitingShown = waiting.round;
  fill(document.getElementById("reveal-details"), ...waitingParts(waiting, state.view));
  clearTimeout(state.waitTimer);
  // Ask again every few seconds, and once the deadline has passed (the round closes then even if someone never
  // guesses): the events are hints, and one missed while the socket was away must not leave the room waiting.
  const closes = waiting.deadline ? Math.max(0, Date.parse(waiting.deadline) - Date.now()) + 2500 : Infinity;
  state.waitTimer = setTimeout(() => refreshReveal(waiting.round).catch(fail), Math.min(5000, closes));
}

// The reveal map (one for the whole game) with a fresh layer of `draw(layers)`'s pins; returns their points.
function drawOnRevealMap(draw) {
  state.revealDrawn = null;  // what renderReveal last drew is gone
  document.getElementById("reveal-map-box").hidden = false;
  const map = state.revealMap ??= createWorldMap(document.getElementById("reveal-map"));
  if (state.revealLayers) state.revealLayers.remove();
  state.revealLayers = L.featureGroup().addTo(map);
  map.invalidateSize();
  return draw(state.revealLayers, map);
}

function renderReveal(reveal) {
  state.reveal = reveal;
  if (reveal.revealed === false) return renderWaiting(reveal);
  clearTimeout(state.waitTimer);
  stopWaitingClock();
  document.getElementById("next-button").hidden = false;
  show("reveal-panel");
  panels["reveal-panel"].classList.remove("waiting");
  // An event re-reads the reveal (under load a round's own events come after it is drawn); one that changed
  // nothing is not drawn again, which would reset the view the player zoomed to and close the name they point at.
  const drawn = JSON.stringify(reveal);
  if (drawn !== state.revealDrawn) {
    const points = drawOnRevealMap((layers, map) => (reveal.streak ? drawStreakRound(layers, reveal, { cells: true })
      : drawRound(map, layers, reveal, { cells: true })));
    state.revealMap.fitBounds(L.latLngBounds(points).pad(0.25), { maxZoom: 8, animate: false });
    state.revealDrawn = drawn;
    // The line from the guess to the truth is drawn out once per round, not on each redraw.
    if (state.linesDrawn !== reveal.round) drawLinesOut(document.getElementById("reveal-map"));
    state.linesDrawn = reveal.round;
  }
  document.getElementById("legend-others").hidden = !(reveal.opponents || []).length;

  const { title, parts } = (reveal.streak ? streakReveal : revealParts)(reveal);
  fill(document.getElementById("reveal-details"), ...parts);
  nameNextStep();
  document.getElementById("reveal-title").textContent = title;
  document.getElementById("reveal-title").focus({ preventScroll: true });
  // PlaNet answered after this reveal was read from the API: read it again, once.
  if (reveal.model.status === "pending" && state.modelReady.delete(reveal.number)) {
    refreshReveal(reveal.round).catch(fail);
  }
}

function nameNextStep() {
  const last = state.game.rounds.every((r) => r.locked);
  document.getElementById("next-button").textContent = last ? "See the summary" : "Next round";
}

// ---- the end of the game ----

async function showSummary() {
  stopCountdown();
  // The last guess's game refresh runs in the background (the reveal did not wait for it): the summary does.
  await refreshGame();
  show("summary-panel");
  const reveals = (await Promise.all(state.game.rounds.filter((r) => r.round).map((r) => api(`/api/rounds/${r.round}`))))
    .filter((r) => r.revealed);
  const map = createWorldMap(document.getElementById("summary-map"));
  const layers = L.featureGroup().addTo(map);
  const points = reveals.flatMap((reveal) => (reveal.streak ? drawStreakRound(layers, reveal, { cells: false })
    : drawRound(map, layers, reveal, { cells: false, number: reveal.number })));
  map.invalidateSize();
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 6 });
  document.getElementById("summary-legend-others").hidden = !reveals.some((r) => (r.opponents || []).length);
  const game = state.game;
  const { title, parts } = (game.streak ? streakSummary : summaryParts)(game, reveals);
  // A daily try ends on the day's board, the player's rank and the time until tomorrow's; it has no second try,
  // so no "Play again" (which started an ordinary game on the daily set).
  const ending = game.daily ? dailyEnding(game, await api("/api/daily/leaderboard")) : null;
  document.getElementById("again-button").hidden = Boolean(game.daily);
  document.getElementById("summary-title").textContent = ending ? ending.title : title;
  fill(document.getElementById("summary-details"), ...(ending ? ending.parts : []), ...parts);
  state.shareText = (game.streak ? streakShareText : shareText)(game, reveals);
  if (game.rematch) document.getElementById("again-button").textContent = "Join the rematch";
  document.getElementById("summary-title").focus({ preventScroll: true });
}

// ---- wiring ----

async function main() {
  document.getElementById("join-form").addEventListener("submit", join);
  document.getElementById("guess-button").addEventListener("click", () => submitGuess());
  document.getElementById("next-button").addEventListener("click", () => nextRound().catch(fail));
  document.getElementById("again-button").addEventListener("click", () => playAgain(state.game).catch(fail));
  document.getElementById("start-button").addEventListener("click", () => startGame().catch(fail));
  document.getElementById("share-button").addEventListener("click", () => share(state.shareText));
  document.getElementById("copy-invite").addEventListener("click", async () => {
    const input = document.getElementById("invite-link");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      toast("Invite link copied");
    } catch {
      toast("Select the link and copy it");
    }
  });
  document.addEventListener("keydown", gameKeys({
    inRound: () => !panels["round-panel"].hidden,
    onReveal: () => !panels["reveal-panel"].hidden,
    hasGuess: () => Boolean(state.picker && state.picker.get()),
    guess: () => submitGuess(),
    placeAtCentre: () => state.picker && state.picker.placeAtCentre(),
    next: () => {
      const next = document.getElementById("next-button");
      if (!next.hidden && !next.disabled) next.click(); // never past a room's waiting screen
    },
  }));
  await api("/api/session");
  await refreshGame();
  connectSocket();
  if (!state.game.joined) {
    document.getElementById("join-name").value = localStorage.getItem("arena.name") || "";
    show("join-panel");
    return;
  }
  // Back on the page mid-round: a locked round shows its reveal, otherwise play on.
  const open = state.game.rounds.find((r) => !r.locked);
  const lastLocked = [...state.game.rounds].reverse().find((r) => r.locked);
  if (open && !open.round && lastLocked && lastLocked.round) renderReveal(await api(`/api/rounds/${lastLocked.round}`));
  else await playOrWait();
}

main().catch(fail);
