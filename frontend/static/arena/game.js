// The game page: join if needed, then for each round show the view, take a guess on the map, reveal the
// truth with PlaNet's guess and cell probabilities, and end on a summary of all rounds.
// Everything comes from the JSON API; the websocket only says that something happened.
import { api, element, fill, toast } from "./api.js";
import { drawRound, revealParts, shareText, summaryParts } from "./reveal.js";
import { countryPicker, drawStreakRound, streakReveal, streakShareText, streakSummary } from "./streak.js";
import { createWorldMap, guessPicker } from "./worldmap.js";
import { showView, stepView } from "./viewer.js";

const root = document.getElementById("game");
const gameId = root.dataset.gameId;
const panels = ["room-panel", "join-panel", "round-panel", "reveal-panel", "summary-panel"]
  .reduce((all, id) => ({ ...all, [id]: document.getElementById(id) }), {});

const state = { game: null, view: null, reveal: null, guessMap: null, picker: null, revealMap: null,
  revealLayers: null, timer: null, waitTimer: null, submitting: false, socket: null, waitingForHost: false,
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
    toast("Someone in the room is playing again: join them with “Join the rematch”.");
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
  if (event.event === "player_guessed" && state.game && state.game.players.length > 1) {
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
    root.classList.toggle("streak", Boolean(state.game.streak)); // the layout makes room for the country list
  }
  state.picker.clear();
  state.guessMap.invalidateSize();
  state.guessMap.setView([20, 0], 1.5);
  document.getElementById("guess-button").disabled = true;
  startCountdown(view.deadline);
}

function startCountdown(deadline) {
  clearInterval(state.timer);
  const box = document.getElementById("countdown");
  box.hidden = !deadline;
  if (!deadline) return;
  const end = Date.parse(deadline);
  const tick = () => {
    const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
    box.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    box.classList.toggle("urgent", left <= 10);
    box.setAttribute("aria-label", `${left} seconds left`);
    if (left === 0) {
      clearInterval(state.timer);
      submitGuess({ timeUp: true });
    }
  };
  tick();
  state.timer = setInterval(tick, 250);
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
    clearInterval(state.timer);
    await refreshGame();
    renderReveal(reveal);
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
  document.getElementById("reveal-title").textContent = `Round ${waiting.number}: guess locked`;
  document.getElementById("next-button").hidden = true;
  document.getElementById("reveal-map-box").hidden = true;
  fill(document.getElementById("reveal-details"),
    element("p", { id: "waiting" }, `Waiting for the room: ${waiting.guessed} of ${waiting.players} have guessed. `,
      "Everyone sees the answer together."));
  clearTimeout(state.waitTimer);
  // Ask again every few seconds, and once the deadline has passed (the round closes then even if someone never
  // guesses): the events are hints, and one missed while the socket was away must not leave the room waiting.
  const closes = waiting.deadline ? Math.max(0, Date.parse(waiting.deadline) - Date.now()) + 2500 : Infinity;
  state.waitTimer = setTimeout(() => refreshReveal(waiting.round).catch(fail), Math.min(5000, closes));
}

function renderReveal(reveal) {
  state.reveal = reveal;
  if (reveal.revealed === false) return renderWaiting(reveal);
  clearTimeout(state.waitTimer);
  document.getElementById("next-button").hidden = false;
  document.getElementById("reveal-map-box").hidden = false;
  show("reveal-panel");
  const map = state.revealMap ??= createWorldMap(document.getElementById("reveal-map"));
  if (state.revealLayers) state.revealLayers.remove();
  state.revealLayers = L.featureGroup().addTo(map);
  map.invalidateSize();
  const points = reveal.streak ? drawStreakRound(state.revealLayers, reveal, { cells: true })
    : drawRound(map, state.revealLayers, reveal, { cells: true });
  map.fitBounds(L.latLngBounds(points).pad(0.25), { maxZoom: 8 });
  document.getElementById("legend-others").hidden = !(reveal.opponents || []).length;

  const { title, parts } = (reveal.streak ? streakReveal : revealParts)(reveal);
  fill(document.getElementById("reveal-details"), ...parts);
  const last = state.game.rounds.every((r) => r.locked);
  document.getElementById("next-button").textContent = last ? "See the summary" : "Next round";
  document.getElementById("reveal-title").textContent = title;
  document.getElementById("reveal-title").focus({ preventScroll: true });
  // PlaNet answered after this reveal was read from the API: read it again, once.
  if (reveal.model.status === "pending" && state.modelReady.delete(reveal.number)) {
    refreshReveal(reveal.round).catch(fail);
  }
}

// ---- the end of the game ----

async function showSummary() {
  clearInterval(state.timer);
  show("summary-panel");
  const reveals = (await Promise.all(state.game.rounds.filter((r) => r.round).map((r) => api(`/api/rounds/${r.round}`))))
    .filter((r) => r.revealed);
  const map = createWorldMap(document.getElementById("summary-map"));
  const layers = L.featureGroup().addTo(map);
  const points = reveals.flatMap((reveal) => (reveal.streak ? drawStreakRound(layers, reveal, { cells: false })
    : drawRound(map, layers, reveal, { cells: false })));
  map.invalidateSize();
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 6 });
  document.getElementById("summary-legend-others").hidden = !reveals.some((r) => (r.opponents || []).length);
  const game = state.game;
  const { title, parts } = (game.streak ? streakSummary : summaryParts)(game, reveals);
  document.getElementById("summary-title").textContent = title;
  fill(document.getElementById("summary-details"), ...parts);
  state.shareText = (game.streak ? streakShareText : shareText)(game, reveals);
  if (game.rematch) document.getElementById("again-button").textContent = "Join the rematch";
  document.getElementById("summary-title").focus({ preventScroll: true });
}

async function share() {
  const box = document.getElementById("share-text");
  box.value = state.shareText || "";
  box.hidden = false;
  box.select();
  try {
    await navigator.clipboard.writeText(box.value);
    toast("Result copied: paste it anywhere.");
  } catch {
    toast("Copy the text below to share your result.");
  }
}

async function playAgain() {
  const game = state.game;
  const name = localStorage.getItem("arena.name") || undefined;
  if (game.players.length > 1) {
    // A room plays again together: the first to ask makes the next game, the others are seated in it.
    const again = await api(`/api/games/${gameId}/rematch`, { method: "POST", body: { name } });
    location.assign(`/play/${again.game}?room=1`);
    return;
  }
  const again = await api("/api/games", { method: "POST", body: {
    set: game.set, model: game.model, rounds: game.round_count, time_limit_s: game.time_limit_s, mode: game.mode,
    goal: game.goal,
    name: localStorage.getItem("arena.name") || undefined,
  } });
  location.assign(`/play/${again.game}`);
}

// ---- wiring ----

function onKey(event) {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
  if (typing) return;
  if (!panels["round-panel"].hidden && (event.key === " " || event.key === "Enter")) {
    if (event.target.tagName === "BUTTON" && event.target.id !== "guess-button") return;
    event.preventDefault();
    submitGuess();
  } else if (!panels["round-panel"].hidden && (event.key === "p" || event.key === "P")) {
    state.picker.placeAtCentre();
  } else if (!panels["round-panel"].hidden && ["ArrowLeft", "ArrowRight"].includes(event.key) &&
      !event.target.closest(".leaflet-container")) {
    // Outside the map (whose arrows pan it), the arrows look around a multi-view place.
    if (stepView(event.key === "ArrowLeft" ? -1 : 1)) event.preventDefault();
  } else if (!panels["reveal-panel"].hidden && event.key === "Enter" && event.target.tagName !== "BUTTON") {
    event.preventDefault();
    document.getElementById("next-button").click();
  }
}

async function main() {
  document.getElementById("join-form").addEventListener("submit", join);
  document.getElementById("guess-button").addEventListener("click", () => submitGuess());
  document.getElementById("next-button").addEventListener("click", () => nextRound().catch(fail));
  document.getElementById("again-button").addEventListener("click", () => playAgain().catch(fail));
  document.getElementById("start-button").addEventListener("click", () => startGame().catch(fail));
  document.getElementById("share-button").addEventListener("click", share);
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
  document.addEventListener("keydown", onKey);
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
