// The forms for an objective. Each is offered only when the objectives service listed the
// action in `allowed_actions` (or, for creating, the level in /objectives/creatable/levels):
// what the API would refuse is not shown.

import { api } from "./api.js";
import { el } from "./grades.js";

const STATUSES = ["active", "completed", "abandoned", "on_hold"];
const QUARTERS = ["", "Q1", "Q2", "Q3", "Q4"];

function field(label, input) {
  return el("label", {}, el("span", { text: label }), input);
}

function select(name, options, chosen) {
  const box = el("select", { name });
  for (const option of options) {
    const item = el("option", { value: option, text: option || "(whole year)" });
    if (option === chosen) item.selected = true;
    box.append(item);
  }
  return box;
}

function input(name, attributes = {}) {
  return el("input", { name, ...attributes });
}

function form(name, legend, fields, submit) {
  const box = el("form", { class: "form", "data-form": name }, el("h3", { text: legend }), ...fields);
  box.append(el("button", { type: "submit", text: legend }));
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(new FormData(box));
  });
  return box;
}

function optionalNumber(value) {
  return value === "" || value === null ? null : Number(value);
}

export function editForm(objective, done) {
  const title = input("title", { required: "", maxlength: "200", value: objective.title });
  const fields = [
    field("Title", title),
    field("Status", select("status", STATUSES, objective.status)),
    field("Start", input("start_date", { type: "date", value: objective.start_date })),
    field("End", input("end_date", { type: "date", value: objective.end_date })),
  ];
  const manual = objective.child_count === 0 && objective.kpi_count === 0;
  if (manual) {
    const progress = String(objective.progress_percentage);
    fields.push(field("Progress %", input("progress_percentage", { type: "number", min: "0", max: "100", step: "any", value: progress })));
  }
  return form("edit", "Save", fields, (data) => {
    const body = {
      title: data.get("title"),
      status: data.get("status"),
      start_date: data.get("start_date"),
      end_date: data.get("end_date"),
    };
    if (manual) body.progress_percentage = Number(data.get("progress_percentage"));
    done(
      api(`/api/v1/objectives/${objective.id}`, { method: "PUT", body, headers: { "If-Match": `"${objective.version}"` } }),
      "saved",
    );
  });
}

export function moveForm(objective, done) {
  const parent = input("new_parent_id", { type: "number", min: "1", placeholder: "none: top level" });
  if (objective.parent_id) parent.value = String(objective.parent_id);
  return form("move", "Move", [field("New parent id", parent)], (data) =>
    done(
      api(`/api/v1/objectives/${objective.id}/move`, {
        method: "POST",
        body: { new_parent_id: optionalNumber(data.get("new_parent_id")), version: objective.version },
      }),
      "moved",
    ),
  );
}

export function linkForm(objective, kpis, done) {
  const choice = el("select", { name: "kpi_id", required: "" });
  for (const kpi of kpis) choice.append(el("option", { value: String(kpi.id), text: `${kpi.title} (#${kpi.id})` }));
  const weight = input("weight", { type: "number", min: "0.01", max: "1", step: "any", value: "1" });
  return form("link", "Link KPI", [field("KPI", choice), field("Weight", weight)], (data) =>
    done(
      api(`/api/v1/objectives/${objective.id}/kpis`, {
        method: "POST",
        body: { kpi_id: Number(data.get("kpi_id")), weight: Number(data.get("weight")) },
      }),
      "KPI linked",
    ),
  );
}

export function deleteForm(objective, done) {
  return form("delete", "Delete", [el("p", { text: "Deletes it and everything below it." })], () => {
    if (!confirm(`Delete “${objective.title}” and its subtree?`)) return;
    done(
      api(`/api/v1/objectives/${objective.id}`, { method: "DELETE", headers: { "If-Match": `"${objective.version}"` } }),
      "deleted",
    );
  });
}

export function createForm(levels, parent, done) {
  const year = new Date().getFullYear();
  const parentId = input("parent_id", { type: "number", min: "1", placeholder: "none: top level" });
  if (parent) parentId.value = String(parent.id);
  const fields = [
    field("Title", input("title", { required: "", maxlength: "200" })),
    field("Level", select("level", levels, levels[levels.length - 1])),
    field("Parent id", parentId),
    field("Year", input("year", { type: "number", min: "2000", max: "2100", value: String(year) })),
    field("Quarter", select("quarter", QUARTERS, "")),
  ];
  return form("create", "Create", fields, (data) =>
    done(
      api("/api/v1/objectives", {
        method: "POST",
        body: {
          title: data.get("title"),
          level: data.get("level"),
          parent_id: optionalNumber(data.get("parent_id")),
          year: Number(data.get("year")),
          quarter: data.get("quarter") || null,
        },
      }),
      "created",
    ),
  );
}
