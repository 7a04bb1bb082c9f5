// Lobby: pick a set, model, rounds, time limit and mode; play solo or open a room; or join one.
import { api, element, fill } from "./api.js";
import { boardList, countdownToTomorrow, rankSentence } from "./daily.js";

const NAME_KEY = "arena.name";

function showError(id, message) {
  const box = document.getElementById(id);
  box.textContent = message;
  box.hidden = !message;
}

async function fillCatalogue() {
  const { sets, models } = await api("/api/catalogue");
  const setSelect = document.getElementById("set");
  const modelSelect = document.getElementById("model");
  // The lists name sets and models only (a long option was cut off, or made the list run under its neighbour);
  // the size of the chosen set and the kind of the chosen model are said under each.
  setSelect.replaceChildren(...sets.map((s) => element("option", { value: s.name }, s.name)));
  modelSelect.replaceChildren(...models.map((m) => element("option", { value: m.name, selected: m.default },
    m.default ? `${m.name} (default)` : m.name)));
  const describeSet = () => {
    const set = sets.find((s) => s.name === setSelect.value);
    document.getElementById("set-size").textContent = !set ? "" : set.views > set.panoramas
      ? `${set.panoramas.toLocaleString("en")} places, ${set.views.toLocaleString("en")} views`
      : `${set.panoramas.toLocaleString("en")} views`;
  };
  // A kNN or external opponent says so: the latter guessed on the original photo, not the view you are served.
  const kinds = { knn: "kNN retrieval", external: "uploaded predictions, made on the original photos" };
  const describeModel = () => {
    const model = models.find((m) => m.name === modelSelect.value);
    document.getElementById("model-kind").textContent = (model && kinds[model.kind]) || "";
  };
  setSelect.addEventListener("change", describeSet);
  modelSelect.addEventListener("change", describeModel);
  describeSet();
  describeModel();
  if (!sets.length) showError("new-game-error", "No panorama set is loaded yet: an admin must import one.");
  if (!models.length) showError("new-game-error", "No model is registered yet: an admin must register one.");
  document.getElementById("play-solo").disabled = !sets.length || !models.length;
  document.getElementById("create-room").disabled = !sets.length || !models.length;
}

function gameSettings(form) {
  const data = new FormData(form);
  const goal = data.get("goal") || "distance";
  const rounds = Number(data.get("rounds"));
  // A country streak has no set length: it goes on until the first wrong country.
  if (goal === "distance" && (!Number.isInteger(rounds) || rounds < 1 || rounds > 50)) {
    throw new Error("Rounds must be a whole number from 1 to 50.");
  }
  const timeLimit = data.get("time_limit_s");
  return {
    set: data.get("set"), model: data.get("model") || undefined, rounds: goal === "distance" ? rounds : undefined,
    time_limit_s: timeLimit ? Number(timeLimit) : null, mode: data.get("mode"), goal,
    name: (data.get("name") || "").trim() || undefined,
  };
}

// A country streak has no set length: its Rounds field is off (and left out of the form's data) while it is chosen.
function followGoal() {
  document.getElementById("rounds").disabled = document.getElementById("goal").value === "country";
}

async function createGame(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const room = event.submitter && event.submitter.value === "room";
  showError("new-game-error", "");
  try {
    const settings = gameSettings(form);
    if (room && settings.goal === "country") throw new Error("A country streak is played alone: choose Play solo.");
    localStorage.setItem(NAME_KEY, settings.name || "");
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    const game = await api("/api/games", { method: "POST", body: settings });
    window.location.assign(`/play/${encodeURIComponent(game.game)}${room ? "?room=1" : ""}`);
  } catch (error) {
    showError("new-game-error", error.message);
    for (const button of form.querySelectorAll("button")) button.disabled = false;
  }
}

async function joinRoom(event) {
  event.preventDefault();
  const text = document.getElementById("room").value.trim();
  // An invite link ends in /play/<code>; a bare code is the same id.
  const code = (text.match(/play\/([A-Za-z0-9_-]+)/) || [null, text])[1];
  if (!/^[A-Za-z0-9_-]{4,64}$/.test(code || "")) {
    showError("join-error", "That is not a room link or code.");
    return;
  }
  try {
    await api(`/api/games/${encodeURIComponent(code)}`); // a wrong code is said here, not on an error page
  } catch (error) {
    showError("join-error", error.status === 404 ? "No game has that code: check the link your friend sent."
      : error.message);
    return;
  }
  window.location.assign(`/play/${code}`);
}

// One try a day: a finished try is shown here (rank, board, the time until tomorrow's) rather than reopened.
async function playDaily() {
  showError("join-error", "");
  try {
    const game = await api("/api/daily", { method: "POST", body: { name: localStorage.getItem(NAME_KEY) || undefined } });
    if (!game.finished) {
      window.location.assign(`/play/${encodeURIComponent(game.game)}`);
      return;
    }
    await fillDailyLeaderboard();
    document.getElementById("daily-link").href = `/play/${encodeURIComponent(game.game)}`;
    document.getElementById("daily-result").hidden = false;
    document.getElementById("daily-you").focus();
  } catch (error) {
    showError("join-error", error.message);
  }
}

async function fillDailyLeaderboard() {
  const { leaderboard, you } = await api("/api/daily/leaderboard");
  fill(document.getElementById("daily-board-box"), boardList(leaderboard, { id: "daily-leaderboard" }));
  if (you && you.finished) {
    document.getElementById("daily-you").textContent = `You have played today's challenge. ${rankSentence(you)}`;
    countdownToTomorrow(document.getElementById("daily-next"));
    document.getElementById("daily-button").textContent = "See today's result";
  }
}

async function main() {
  document.getElementById("name").value = localStorage.getItem(NAME_KEY) || "";
  document.getElementById("new-game").addEventListener("submit", createGame);
  document.getElementById("join-room").addEventListener("submit", joinRoom);
  document.getElementById("daily-button").addEventListener("click", playDaily);
  document.getElementById("goal").addEventListener("change", followGoal);
  followGoal(); // a goal the browser restored on going back
  await api("/api/session");
  await fillCatalogue();
  await fillDailyLeaderboard();
}

main().catch((error) => showError("new-game-error", error.message));
