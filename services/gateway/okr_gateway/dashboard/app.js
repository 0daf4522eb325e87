// The dashboard's entry: sign-in, the tree and Gantt views, the side panel, live updates.

import { api, forget, login, token, whenUnauthorized } from "./api.js";
import { Gantt } from "./gantt.js";
import { el, percent } from "./grades.js";
import { createForm, deleteForm, editForm, linkForm, moveForm } from "./forms.js";
import { allKpis, kpiLine, linkedKpis, recordValueForm } from "./kpis.js";
import { listen } from "./live.js";
import { throttle } from "./throttle.js";
import { Tree } from "./tree.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, names: new Map(), levels: [], selected: null, stopLive: null };
const KPI_REFRESH_MS = 300;

const tree = new Tree($("tree"), { onSelect: select, ownerLabel });
const gantt = new Gantt($("gantt"), $("gantt-rows"), $("gantt-axis"));

function ownerLabel(node) {
  if (state.me && node.owner_id === state.me.id) return "you";
  return state.names.get(node.owner_id) ?? `user #${node.owner_id}`;
}

function notify(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

// A write: show the outcome, then reload what it may have changed.
async function done(request, message) {
  try {
    await request;
    notify(message);
    await loadTree();
    if (streamMissesSome()) startLive({ resyncFirst: true });
    if (state.selected && tree.nodes.has(state.selected)) await select(state.selected);
    else closePanel();
  } catch (error) {
    notify(error.message, true);
  }
}

async function start() {
  whenUnauthorized(showLogin);
  if (!token()) return showLogin();
  try {
    state.me = await api("/api/v1/auth/me");
  } catch {
    return showLogin();
  }
  $("login").hidden = true;
  $("main").hidden = false;
  $("whoami").textContent = `${state.me.full_name || state.me.username} · ${state.me.role}`;
  state.names.set(state.me.id, state.me.full_name || state.me.username);
  tree.expanded.clear(); // another user's tree
  try {
    state.levels = (await api("/api/v1/objectives/creatable/levels")).levels;
    $("new-objective").hidden = state.levels.length === 0;
    await loadTree();
  } catch (error) {
    // An account with no objectives to show (an HR system's) is refused: say why, nothing else.
    $("new-objective").hidden = true;
    tree.load([]);
    return notify(error.message, true);
  }
  startLive();
}

// The objectives the open stream was opened for. For anyone but an admin the gateway passes a
// stream only the objectives the caller could see when it opened, so when the tree shows others
// (created, moved or deleted here) the stream is opened again.
let liveIds = new Set();

function startLive({ resyncFirst = false } = {}) {
  state.stopLive?.();
  liveIds = new Set(tree.nodes.keys());
  state.stopLive = listen(onProgress, showLiveState, resync, { resyncFirst });
}

function streamMissesSome() {
  if (state.me?.role === "admin" || !state.stopLive) return false; // an admin's passes everything
  if (liveIds.size !== tree.nodes.size) return true;
  for (const id of tree.nodes.keys()) if (!liveIds.has(id)) return true;
  return false;
}

function showLiveState(text) {
  $("live").textContent = text;
  $("live").classList.toggle("on", text === "live");
}

// The stream (re)connected after a gap: it does not replay what it missed, so read the views
// again; expanded rows and the selection stay.
async function resync() {
  try {
    await loadTree();
    liveIds = new Set(tree.nodes.keys());
    const id = state.selected;
    if (id === null) return;
    if (!tree.nodes.has(id)) return closePanel();
    showPanelProgress(tree.nodes.get(id).progress_percentage);
    refreshKpisSoon();
  } catch (error) {
    notify(error.message, true);
  }
}

// Rollups keep arriving while a view is read, and the read may have started before them: the
// ones that arrive meanwhile are applied again once the view is in, in the order they came.
let reading = 0;
let heldUpdates = [];

async function whileHoldingUpdates(read) {
  reading++;
  try {
    await read();
    for (const update of heldUpdates) showProgress(update);
  } finally {
    if (--reading === 0) heldUpdates = [];
  }
}

async function loadTree() {
  const started = performance.now();
  await whileHoldingUpdates(async () => tree.load(await api("/api/v1/objectives/tree/view")));
  if (state.selected) tree.select(state.selected);
  notify(`${tree.nodes.size} objectives in ${Math.round(performance.now() - started)} ms`);
  loadOwnerNames().catch((error) => notify(error.message, true));
  if (!$("gantt-view").hidden) await loadGantt();
}

const NAMES_PER_REQUEST = 500; // what GET /api/v1/users/names takes at once

// Owners' names beside the rows: asked once per id, after the tree is on screen.
async function loadOwnerNames() {
  const owners = new Set([...tree.nodes.values()].map((node) => node.owner_id));
  const unknown = [...owners].filter((id) => !state.names.has(id));
  for (let i = 0; i < unknown.length; i += NAMES_PER_REQUEST) {
    const slice = unknown.slice(i, i + NAMES_PER_REQUEST);
    const { names } = await api(`/api/v1/users/names?${slice.map((id) => `id=${id}`).join("&")}`);
    for (const id of slice) state.names.set(id, names[id] ?? `user #${id}`);
  }
  if (unknown.length) tree.refreshOwners();
}

async function loadGantt() {
  await whileHoldingUpdates(async () => gantt.load(await api("/api/v1/objectives/gantt/view")));
}

function onProgress(update) {
  if (reading) heldUpdates.push(update);
  showProgress(update);
  if (state.selected === update.objective_id && update.kpi_count > 0) refreshKpisSoon();
}

function showProgress(update) {
  tree.setProgress(update.objective_id, update.progress_percentage);
  gantt.setProgress(update.objective_id, update.progress_percentage);
  if (state.selected === update.objective_id) showPanelProgress(update.progress_percentage);
}

function showPanelProgress(progress) {
  const shown = $("panel").querySelector(".panel-progress");
  if (shown) shown.textContent = percent(progress);
}

// A rollup of the selected objective may come from a new KPI value: show its latest value and
// line too, at most every KPI_REFRESH_MS however fast the updates come.
const refreshKpisSoon = throttle(async () => {
  const id = state.selected;
  if (id === null) return;
  const kpis = await linkedKpis(id).catch(() => null);
  if (!kpis || state.selected !== id) return;
  tree.kpiSlot(id)?.replaceChildren(...kpis.map(kpiLine));
  $("panel").querySelector(".panel-kpis")?.replaceChildren(...kpis.map(kpiLine));
}, KPI_REFRESH_MS);

async function select(id) {
  state.selected = id;
  tree.select(id);
  const panel = $("panel");
  panel.hidden = false;
  panel.replaceChildren(el("p", { text: "loading…" }));
  try {
    const [objective, kpis] = await Promise.all([api(`/api/v1/objectives/${id}`), linkedKpis(id)]);
    if (objective.owner_name) state.names.set(objective.owner_id, objective.owner_name);
    tree.refreshOwners();
    tree.kpiSlot(id)?.replaceChildren(...kpis.map(kpiLine));
    const linkable = objective.allowed_actions.includes("link") ? await allKpis() : [];
    if (state.selected === id) panel.replaceChildren(...panelContent(objective, kpis, linkable));
  } catch (error) {
    panel.replaceChildren(el("p", { class: "error", text: error.message }));
  }
}

function panelContent(objective, kpis, linkable) {
  const can = new Set(objective.allowed_actions);
  const close = el("button", { type: "button", class: "close", text: "×", "aria-label": "close" });
  close.addEventListener("click", closePanel);
  const parts = [
    close,
    el("h2", { text: objective.title }),
    el("p", { class: "meta", text: `${objective.level} · ${objective.status} · ${objective.start_date} → ${objective.end_date}` }),
    el("p", { class: "meta", text: `owner: ${objective.owner_name ?? `user #${objective.owner_id}`}` }),
    el("p", {}, el("span", { text: "progress " }), el("strong", { class: "panel-progress", text: percent(objective.progress_percentage) })),
    el("h3", { text: `KPIs (${kpis.length})` }),
    el("div", { class: "panel-kpis" }, ...kpis.map(kpiLine)),
    ...kpis.filter((k) => k.kpi.allowed_actions.includes("write_values")).map((k) => recordValueForm(k.kpi, done)),
  ];
  if (can.has("update")) parts.push(editForm(objective, done));
  if (can.has("move")) parts.push(moveForm(objective, done));
  if (can.has("link") && linkable.length) parts.push(linkForm(objective, linkable, done));
  if (can.has("delete")) parts.push(deleteForm(objective, done));
  return parts;
}

function closePanel() {
  state.selected = null;
  tree.select(null);
  $("panel").hidden = true;
}

function showCreate() {
  const panel = $("panel");
  panel.hidden = false;
  const parent = state.selected ? tree.nodes.get(state.selected) : null;
  panel.replaceChildren(el("h2", { text: "New objective" }), createForm(state.levels, parent, done));
}

function showLogin() {
  state.stopLive?.();
  state.stopLive = null;
  $("main").hidden = true;
  $("login").hidden = false;
}

function showView(name) {
  $("tree-view").hidden = name !== "tree";
  $("gantt-view").hidden = name !== "gantt";
  $("show-tree").classList.toggle("active", name === "tree");
  $("show-gantt").classList.toggle("active", name === "gantt");
  if (name === "gantt") loadGantt().catch((error) => notify(error.message, true));
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(event.target);
  try {
    await login(data.get("username"), data.get("password"));
    $("login-error").textContent = "";
    await start();
  } catch (error) {
    $("login-error").textContent = error.message;
  }
});
$("logout").addEventListener("click", async () => {
  // The server ends the token as well (every token of this user): a copy left in another tab
  // or leaked stops working too. Signed out here whatever it answers.
  await api("/api/v1/auth/logout", { method: "POST" }).catch(() => {});
  forget();
  showLogin();
});
$("new-objective").addEventListener("click", showCreate);
$("show-tree").addEventListener("click", () => showView("tree"));
$("show-gantt").addEventListener("click", () => showView("gantt"));

start().catch((error) => notify(error.message, true));
