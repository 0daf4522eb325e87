// The periods (GET /api/v1/periods): each year and quarter with its state, how many of its
// objectives are graded and the average grade by level; an admin may close an open period
// (grading and freezing its objectives) or reopen a closed one. The server decides what is
// allowed (409 with the reason otherwise): the page only asks.

import { api } from "./api.js";
import { el } from "./grades.js";

const LEVELS = ["company", "division", "team", "individual"];

export function periodName(period) {
  return period.quarter ? `${period.year} ${period.quarter}` : `${period.year}`;
}

function periodPath(period) {
  return period.quarter ? `${period.year}/${period.quarter}` : `${period.year}`;
}

function grade(value) {
  return typeof value === "number" ? value.toFixed(2) : "–";
}

export async function loadPeriods() {
  return api("/api/v1/periods");
}

// `isAdmin` shows the buttons; `done(request, message)` runs a write and reloads.
export function periodTable(periods, { isAdmin, names, done }) {
  const head = el("tr", {}, ...["period", "state", "objectives", "graded", ...LEVELS.map((l) => `${l} grade`), "closed", ""].map((text) => el("th", { text })));
  const body = el("tbody");
  for (const period of periods) body.append(periodRow(period, isAdmin, names, done));
  if (!periods.length) body.append(el("tr", {}, el("td", { colspan: "9", class: "meta", text: "no periods yet" })));
  return el("table", { class: "periods" }, el("thead", {}, head), body);
}

function periodRow(period, isAdmin, names, done) {
  const averages = period.average_grade ?? {};
  const closed = period.state === "closed";
  const closedBy = period.closed_by === null || period.closed_by === undefined ? "" : ` by ${names(period.closed_by)}`;
  const when = closed && period.closed_at ? `${new Date(period.closed_at).toLocaleDateString()}${closedBy}` : "";
  const action = el("td");
  if (isAdmin) action.append(periodButton(period, closed, done));
  return el(
    "tr",
    { class: `period ${period.state}`, "data-period": periodName(period) },
    el("td", { class: "period-name", text: periodName(period) }),
    el("td", { class: "period-state", text: period.state }),
    el("td", { text: String(period.objectives) }),
    el("td", { class: "period-graded", text: String(period.graded) }),
    ...LEVELS.map((level) => el("td", { class: `period-grade ${level}`, text: grade(averages[level]) })),
    el("td", { class: "meta", text: when }),
    action,
  );
}

function periodButton(period, closed, done) {
  const verb = closed ? "reopen" : "close";
  const button = el("button", { type: "button", class: `period-${verb}`, text: closed ? "Reopen" : "Close" });
  button.addEventListener("click", () => {
    const warning = closed
      ? `Reopen ${periodName(period)}? Its grades are removed and its objectives can change again.`
      : `Close ${periodName(period)}? Every objective in it is graded and frozen.`;
    if (!confirm(warning)) return;
    done(api(`/api/v1/periods/${periodPath(period)}/${verb}`, { method: "POST" }), `${periodName(period)} ${closed ? "reopened" : "closed"}`);
  });
  return button;
}
