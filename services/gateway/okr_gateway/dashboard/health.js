// Pace: where an objective should be today (`expected_progress`, the share of its period
// elapsed) and how it keeps up (`health`, decided by the server against its own thresholds).
// The bar's colour stays the OKR grade of the progress alone (red / amber / green bands); the
// chip beside it and the tick on the bar say whether that progress is enough for the date.

import { el, percent } from "./grades.js";

export const HEALTH_LABELS = {
  not_started: "not started",
  on_track: "on track",
  at_risk: "at risk",
  off_track: "off track",
  completed: "completed",
  abandoned: "abandoned",
};

export function healthChip(health) {
  const known = health in HEALTH_LABELS;
  return el("span", {
    class: `health ${known ? health : "unknown"}`,
    text: known ? HEALTH_LABELS[health] : "–",
    title: "health against the pace (as last read)",
  });
}

// The tick on a progress bar where the progress should be today.
export function paintPace(tick, expected) {
  const shown = typeof expected === "number";
  tick.hidden = !shown;
  if (!shown) return;
  tick.style.left = `${Math.max(0, Math.min(100, expected))}%`;
  tick.title = `expected today: ${percent(expected)}`;
}
