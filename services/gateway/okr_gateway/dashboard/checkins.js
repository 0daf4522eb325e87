// Check-ins of the selected objective: the latest few, and the form to add one where the
// objective's `allowed_actions` include `update` (the API refuses everyone else). Notes are
// the user's words: shown as text, never as markup.

import { api } from "./api.js";
import { el } from "./grades.js";
import { HEALTH_LABELS } from "./health.js";

const SHOWN = 5;
const STATUSES = ["on_track", "at_risk", "off_track"];
const NOTE_LIMIT = 2000;

export async function latestCheckIns(objectiveId) {
  return api(`/api/v1/objectives/${objectiveId}/check-ins?limit=${SHOWN}`);
}

export function checkInList(page, authorName) {
  const list = el("ol", { class: "check-ins" });
  for (const checkIn of page.items) list.append(checkInItem(checkIn, authorName));
  if (page.items.length === 0) list.append(el("li", { class: "meta", text: "no check-ins yet" }));
  const more = page.total > page.items.length ? `, the latest ${page.items.length}` : "";
  return el("div", { class: "panel-check-ins" }, el("h3", { text: `Check-ins (${page.total}${more})` }), list);
}

function checkInItem(checkIn, authorName) {
  const confidence = checkIn.confidence === null ? "" : ` · confidence ${checkIn.confidence}/10`;
  const when = new Date(checkIn.at).toLocaleString();
  return el(
    "li",
    { class: "check-in", "data-check-in": String(checkIn.id) },
    el("span", { class: `health ${checkIn.status}`, text: HEALTH_LABELS[checkIn.status] ?? checkIn.status }),
    el("span", { class: "meta", text: `${when} · ${authorName(checkIn.author_id)} · at ${checkIn.progress_percentage} %${confidence}` }),
    checkIn.note ? el("p", { class: "note", text: checkIn.note }) : null,
  );
}

export function checkInForm(objective, done) {
  const status = el("select", { name: "status", "aria-label": "status" });
  for (const value of STATUSES) status.append(el("option", { value, text: HEALTH_LABELS[value] }));
  const confidence = el("input", { name: "confidence", type: "number", min: "0", max: "10", step: "1", placeholder: "0–10", "aria-label": "confidence" });
  const note = el("textarea", { name: "note", maxlength: String(NOTE_LIMIT), rows: "2", placeholder: "what changed, what is in the way", "aria-label": "note" });
  const form = el(
    "form",
    { class: "form", "data-form": "check-in" },
    el("h3", { text: "Check in" }),
    el("label", {}, el("span", { text: "Status" }), status),
    el("label", {}, el("span", { text: "Confidence" }), confidence),
    el("label", {}, el("span", { text: "Note" }), note),
    el("button", { type: "submit", text: "Check in" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { status: status.value };
    if (confidence.value !== "") body.confidence = Number(confidence.value);
    if (note.value.trim() !== "") body.note = note.value;
    done(api(`/api/v1/objectives/${objective.id}/check-ins`, { method: "POST", body }), "checked in");
  });
  return form;
}
