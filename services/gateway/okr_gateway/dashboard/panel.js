// The side panel of the selected objective: what it is, its pace and grade, its trend, its
// KPIs and their contributions, its check-ins, and the forms the API says the caller may use.
// Everything is read side by side when an objective is selected; nothing for the whole tree.

import { api } from "./api.js";
import { checkInForm, checkInList, latestCheckIns } from "./checkins.js";
import { contributionList, contributions } from "./contributions.js";
import { el, percent } from "./grades.js";
import { deleteForm, editForm, linkForm, moveForm } from "./forms.js";
import { healthChip } from "./health.js";
import { allKpis, kpiLine, linkedKpis, recordValueForm } from "./kpis.js";
import { progressHistory, trendChart } from "./trend.js";

export async function readPanel(id) {
  const [objective, kpis, checkIns, history, contributed] = await Promise.all([
    api(`/api/v1/objectives/${id}`),
    linkedKpis(id),
    latestCheckIns(id),
    progressHistory(id),
    contributions(id),
  ]);
  const linkable = objective.allowed_actions.includes("link") ? await allKpis() : [];
  return { objective, kpis, checkIns, history, contributed, linkable };
}

// `names(userId)` is a user's display name; `done(request, message)` runs a write.
export function panelContent(read, { done, closePanel, names }) {
  const { objective, kpis, checkIns, history, contributed, linkable } = read;
  const can = new Set(objective.allowed_actions);
  const close = el("button", { type: "button", class: "close", text: "×", "aria-label": "close" });
  close.addEventListener("click", closePanel);
  const kpiTitles = new Map(kpis.map((entry) => [entry.kpi.id, entry.kpi.title]));
  const parts = [
    close,
    el("h2", { text: objective.title }),
    el("p", { class: "meta", text: `${objective.level} · ${objective.status} · ${objective.start_date} → ${objective.end_date}` }),
    el("p", { class: "meta", text: `owner: ${objective.owner_name ?? names(objective.owner_id)}` }),
    el(
      "p",
      { class: "pace-line" },
      el("span", { text: "progress " }),
      el("strong", { class: "panel-progress", text: percent(objective.progress_percentage) }),
      el("span", { class: "panel-expected", text: ` · expected today ${percent(objective.expected_progress)} ` }),
      healthChip(objective.health),
    ),
    objective.grade === null ? null : el("p", { class: "panel-grade", text: `grade ${objective.grade.toFixed(2)} (its period is closed)` }),
    el("div", { class: "panel-trend" }, trendChart(objective, history)),
    el("h3", { text: `KPIs (${kpis.length})` }),
    el("div", { class: "panel-kpis" }, ...kpis.map(kpiLine)),
    ...kpis.filter((k) => k.kpi.allowed_actions.includes("write_values")).map((k) => recordValueForm(k.kpi, done)),
    contributionList(contributed, (kpiId) => kpiTitles.get(kpiId) ?? `KPI #${kpiId}`),
    checkInList(checkIns, names),
  ];
  if (can.has("update")) parts.push(checkInForm(objective, done), editForm(objective, done));
  if (can.has("move")) parts.push(moveForm(objective, done));
  if (can.has("link") && linkable.length) parts.push(linkForm(objective, linkable, done));
  if (can.has("delete")) parts.push(deleteForm(objective, done));
  return parts.filter(Boolean);
}
