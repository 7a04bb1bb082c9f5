// A round's time limit: the clock in the play bar (updated four times a second, silent to a screen reader) and a
// live region that says the time left at a few moments only — when the round starts, at 30 and 10 seconds left,
// and when time is up — rather than every second.
const MOMENTS_S = [30, 10];
let timer = null;

function say(text) {
  const box = document.getElementById("countdown-announce");
  if (box) box.textContent = text;
}

function spoken(seconds) {
  if (seconds >= 120 && seconds % 60 === 0) return `${seconds / 60} minutes`;
  if (seconds === 60) return "1 minute";
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

export function stopCountdown() {
  clearInterval(timer);
  timer = null;
}

// Counts down to `deadline` (an ISO time, or null for no limit); calls onTimeUp once at zero.
export function startCountdown(deadline, onTimeUp) {
  stopCountdown();
  const box = document.getElementById("countdown");
  box.hidden = !deadline;
  if (!deadline) return;
  const end = Date.parse(deadline);
  const secondsLeft = () => Math.max(0, Math.ceil((end - Date.now()) / 1000));
  let lastSaid = secondsLeft();
  say(`${spoken(lastSaid)} to guess`);
  const tick = () => {
    const left = secondsLeft();
    box.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    box.classList.toggle("urgent", left <= 10);
    box.setAttribute("aria-label", `${left} seconds left`);
    const moment = MOMENTS_S.find((s) => left <= s && lastSaid > s);
    if (left === 0) {
      stopCountdown();
      say("Time is up");
      onTimeUp();
    } else if (moment !== undefined) {
      lastSaid = left;
      say(`${spoken(moment)} left`);
    }
  };
  tick();
  timer = setInterval(tick, 250);
}
