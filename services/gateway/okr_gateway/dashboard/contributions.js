// What each KPI contributes to the selected objective's progress
// (GET /api/v1/objectives/{id}/contributions). A gateway without that route answers 404: the
// panel then says so in a line instead of failing.

import { api, ApiError } from "./api.js";
import { el } from "./grades.js";

export async function contributions(objectiveId) {
  try {
    return (await api(`/api/v1/objectives/${objectiveId}/contributions`)).items;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function number(value, digits = 2) {
  return typeof value === "number" ? String(Math.round(value * 10 ** digits) / 10 ** digits) : "–";
}

// `path`: the objectives from this one down to the one that links the KPI (ids or titles);
// null for one the caller may not see.
function pathText(path) {
  if (!Array.isArray(path)) return "";
  const step = (s) => (s === null ? "(hidden)" : typeof s === "object" ? s.title ?? `#${s.id}` : `#${s}`);
  return path.map(step).join(" → ");
}

// A KPI by its title; an objective whose own progress counts (`manual`, or `graded` once its
// period is closed) by its id; what the caller may not see, as such.
function sourceText(item, kpiTitle) {
  if (item.kind === undefined || item.kind === "kpi") {
    return item.kpi_id === null ? "a KPI you may not see" : item.kpi_title ?? kpiTitle(item.kpi_id);
  }
  const what = item.kind === "graded" ? "graded progress" : "own progress";
  return item.objective_id === null ? `${what} of an objective you may not see` : `${what} of #${item.objective_id}`;
}

export function contributionList(items, kpiTitle) {
  const box = el("div", { class: "panel-contributions" }, el("h3", { text: "Contributions" }));
  if (items === null) {
    box.append(el("p", { class: "meta", text: "contributions are not available on this server" }));
    return box;
  }
  if (items.length === 0) {
    box.append(el("p", { class: "meta", text: "no KPI contributes to it yet" }));
    return box;
  }
  const list = el("ol", { class: "contributions" });
  for (const item of [...items].sort((a, b) => (b.contribution ?? 0) - (a.contribution ?? 0))) {
    list.append(
      el(
        "li",
        { class: "contribution", "data-kpi": String(item.kpi_id) },
        el("span", { class: "contribution-kpi", text: sourceText(item, kpiTitle) }),
        el("span", { class: "contribution-weight", text: `weight ${number(item.effective_weight, 3)}` }),
        el("strong", { class: "contribution-value", text: number(item.contribution), title: "its contribution to the progress" }),
        el("span", { class: "meta contribution-path", text: pathText(item.path) }),
      ),
    );
  }
  box.append(list);
  return box;
}
