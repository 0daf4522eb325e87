// The dashboard's entry: sign-in, the tree, Gantt and periods views, the side panel, live
// updates.

import { api, forget, login, token, whenUnauthorized } from "./api.js";
import { Gantt } from "./gantt.js";
import { el, percent } from "./grades.js";
import { createForm } from "./forms.js";
import { kpiLine, linkedKpis } from "./kpis.js";
import { listen } from "./live.js";
import { panelContent, readPanel } from "./panel.js";
import { loadPeriods, periodTable } from "./periods.js";
import { throttle } from "./throttle.js";
import { progressHistory, trendChart } from "./trend.js";
import { Tree } from "./tree.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, names: new Map(), levels: [], selected: null, objective: null, stopLive: null };
const KPI_REFRESH_MS = 300;

const tree = new Tree($("tree"), { onSelect: select, ownerLabel, loadLevel, onLoaded: onOpened });
const gantt = new Gantt($("gantt"), $("gantt-rows"), $("gantt-axis"));

function ownerLabel(node) {
  if (state.me && node.owner_id === state.me.id) return "you";
  return userName(node.owner_id);
}

function userName(id) {
  return state.names.get(id) ?? `user #${id}`;
}

function loadLevel(parentId) {
  const query = parentId === null ? "" : `?parent_id=${parentId}`;
  return api(`/api/v1/objectives/tree/level${query}`);
}

// Nodes that opening a row brought in existed before, so an open stream passes them already:
// no reason to open it again (streamMissesSome). Their owners' names are read like the rest.
function onOpened(nodes) {
  for (const node of nodes) liveIds.add(node.id);
  loadOwnerNames().catch((error) => notify(error.message, true));
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
    if (!$("periods-view").hidden) await showPeriods();
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
    tree.clear();
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
    refreshSelectedSoon();
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
  await whileHoldingUpdates(() => tree.load());
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
  if (state.selected === update.objective_id) refreshSelectedSoon();
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

// A rollup of the selected objective may come from a new KPI value: show its KPIs' latest
// values and lines and its trend too, at most every KPI_REFRESH_MS however fast they come.
const refreshSelectedSoon = throttle(async () => {
  const id = state.selected;
  const node = tree.nodes.get(id);
  if (id === null) return;
  const [kpis, history] = await Promise.all([
    node?.kpi_count === 0 ? null : linkedKpis(id).catch(() => null),
    progressHistory(id).catch(() => null),
  ]);
  if (state.selected !== id) return;
  if (kpis) {
    tree.kpiSlot(id)?.replaceChildren(...kpis.map(kpiLine));
    $("panel").querySelector(".panel-kpis")?.replaceChildren(...kpis.map(kpiLine));
  }
  const trend = $("panel").querySelector(".panel-trend");
  if (history && trend && state.objective?.id === id) trend.replaceChildren(trendChart(state.objective, history));
}, KPI_REFRESH_MS);

async function select(id) {
  state.selected = id;
  tree.select(id);
  const panel = $("panel");
  panel.hidden = false;
  panel.replaceChildren(el("p", { text: "loading…" }));
  try {
    const read = await readPanel(id);
    const { objective, kpis } = read;
    if (objective.owner_name) state.names.set(objective.owner_id, objective.owner_name);
    tree.refreshOwners();
    tree.kpiSlot(id)?.replaceChildren(...kpis.map(kpiLine));
    if (state.selected !== id) return;
    state.objective = objective;
    panel.replaceChildren(...panelContent(read, { done, closePanel, names: userName }));
  } catch (error) {
    panel.replaceChildren(el("p", { class: "error", text: error.message }));
  }
}

function closePanel() {
  state.selected = null;
  state.objective = null;
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

const VIEWS = ["tree", "gantt", "periods"];

function showView(name) {
  for (const view of VIEWS) {
    $(`${view}-view`).hidden = name !== view;
    $(`show-${view}`).classList.toggle("active", name === view);
  }
  if (name === "gantt") loadGantt().catch((error) => notify(error.message, true));
  if (name === "periods") showPeriods().catch((error) => notify(error.message, true));
}

async function showPeriods() {
  const periods = await loadPeriods();
  const isAdmin = state.me?.role === "admin";
  $("periods-view").replaceChildren(el("h2", { text: "Periods and grades" }), periodTable(periods, { isAdmin, names: userName, done }));
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
$("show-periods").addEventListener("click", () => showView("periods"));

start().catch((error) => notify(error.message, true));
