// The objective tree, loaded a level at a time (GET /api/v1/objectives/tree/level): the roots,
// then a node's children when it is opened, so a company of 111,111 objectives opens as fast as
// one of 100. Each node says how many children it has (`child_count`) before they are loaded.
// Rows are built only for open nodes (long lists in slices), an id -> row map makes a live
// update O(1), and updates are painted at most once per animation frame.

import { el, paintBar } from "./grades.js";
import { healthChip, paintPace } from "./health.js";

const SLICE = 200; // children rendered per "show more"
const OPEN_DEPTH = 2; // company and division levels start open

export class Tree {
  // `loadLevel(parentId | null)` answers a level's nodes; `onLoaded(nodes)` hears of nodes
  // that an opening (not a reload) brought in.
  constructor(root, { onSelect, ownerLabel, loadLevel, onLoaded = () => {} }) {
    this.root = root;
    this.onSelect = onSelect;
    this.ownerLabel = ownerLabel;
    this.loadLevel = loadLevel;
    this.onLoaded = onLoaded;
    this.roots = [];
    this.nodes = new Map(); // id -> loaded node (from the API) with .depth and .children
    this.rows = new Map(); // id -> rendered row parts, only for built rows
    this.expanded = new Map(); // id -> open or not, as last toggled: kept when the tree reloads
    this.dirty = new Set();
    this.frame = 0;
  }

  isOpen(node) {
    return node.child_count > 0 && (this.expanded.get(node.id) ?? node.depth < OPEN_DEPTH);
  }

  // Reads the roots and the children of every node that is open, a level at a time (the
  // requests of one level side by side), then builds the rows in one go.
  async load() {
    const nodes = new Map();
    const roots = await this.loadLevel(null);
    let level = roots;
    for (let depth = 0; level.length; depth++) {
      for (const node of level) {
        node.depth = depth;
        node.children = null;
        nodes.set(node.id, node);
      }
      const opening = level.filter((node) => this.isOpen(node));
      const children = await Promise.all(opening.map((node) => this.loadLevel(node.id)));
      opening.forEach((node, i) => (node.children = children[i]));
      level = children.flat().filter((child) => !nodes.has(child.id)); // no cycle, ever
    }
    this.roots = roots;
    this.nodes = nodes;
    this.rows.clear();
    this.root.replaceChildren();
    this.appendSlice(this.root, roots, 0);
  }

  clear() {
    this.roots = [];
    this.nodes.clear();
    this.rows.clear();
    this.root.replaceChildren();
  }

  // A live update: remember it; paint the row (if built) on the next frame.
  setProgress(id, progress) {
    const node = this.nodes.get(id);
    if (!node) return false;
    node.progress_percentage = progress;
    if (this.rows.has(id)) {
      this.dirty.add(id);
      this.frame ||= requestAnimationFrame(() => this.flush());
    }
    return true;
  }

  flush() {
    this.frame = 0;
    for (const id of this.dirty) {
      const row = this.rows.get(id);
      if (row) paintBar(row.fill, row.pct, this.nodes.get(id).progress_percentage);
    }
    this.dirty.clear();
  }

  refreshOwners() {
    for (const [id, row] of this.rows) row.owner.textContent = this.ownerLabel(this.nodes.get(id));
  }

  select(id) {
    this.root.querySelector(".row.selected")?.classList.remove("selected");
    this.rows.get(id)?.row.classList.add("selected");
  }

  kpiSlot(id) {
    return this.rows.get(id)?.kpis ?? null;
  }

  appendSlice(list, nodes, from) {
    const end = Math.min(nodes.length, from + SLICE);
    for (let i = from; i < end; i++) list.append(this.build(nodes[i]));
    if (end < nodes.length) {
      const more = el("button", { type: "button", class: "more", text: `show ${nodes.length - end} more` });
      more.addEventListener("click", () => {
        more.parentElement.remove();
        this.appendSlice(list, nodes, end);
      });
      list.append(el("li", {}, more));
    }
  }

  build(node) {
    const count = node.child_count;
    const toggle = el("button", {
      type: "button",
      class: "toggle",
      "aria-label": count === 1 ? "1 child" : `${count || "no"} children`,
      text: count ? String(count) : "",
    });
    const fill = el("div", { class: "fill" });
    const pace = el("div", { class: "pace" });
    const pct = el("span", { class: "pct" });
    const owner = el("span", { class: "owner", text: this.ownerLabel(node) });
    const title = el("button", { type: "button", class: "title", text: node.title });
    const row = el(
      "div",
      { class: `row ${node.status}`, "data-id": String(node.id) },
      toggle,
      el("span", { class: `level ${node.level}`, text: node.level }),
      title,
      owner,
      healthChip(node.health),
      el("div", { class: "bar" }, fill, pace),
      pct,
    );
    const kpis = el("div", { class: "kpis" });
    const children = el("ul", { class: "children" });
    const item = el("li", { class: "node" }, row, kpis, children);
    paintBar(fill, pct, node.progress_percentage);
    paintPace(pace, node.expected_progress);
    this.rows.set(node.id, { row, fill, pct, owner, kpis });
    title.addEventListener("click", () => this.onSelect(node.id));
    if (count === 0) {
      toggle.classList.add("leaf");
      toggle.disabled = true;
    } else {
      toggle.addEventListener("click", () =>
        this.toggle(node, item, children, toggle).catch((error) => {
          // Its children could not be read (it was deleted meanwhile, the gateway is away):
          // say so in its place (a click closes it, the next one tries again).
          this.expanded.set(node.id, false);
          item.classList.add("open");
          children.replaceChildren(el("li", { class: "error", text: error.message }));
        }),
      );
      if (this.isOpen(node) && node.children) this.open(node, item, children, toggle);
    }
    return item;
  }

  async toggle(node, item, children, toggle) {
    const open = !item.classList.contains("open");
    this.expanded.set(node.id, open);
    if (!open) return this.close(node, item, children, toggle);
    if (!node.children) {
      toggle.disabled = true; // one request per opening, however often it is clicked
      try {
        node.children = await this.loadLevel(node.id);
      } finally {
        toggle.disabled = false;
      }
      if (this.nodes.get(node.id) !== node) return; // the tree was read again meanwhile
      for (const child of node.children) {
        child.depth = node.depth + 1;
        child.children = null;
        this.nodes.set(child.id, child);
      }
      this.onLoaded(node.children);
    }
    if (this.expanded.get(node.id)) this.open(node, item, children, toggle);
  }

  open(node, item, children, toggle) {
    item.classList.add("open");
    toggle.setAttribute("aria-expanded", "true");
    if (children.childElementCount === 0) this.appendSlice(children, node.children, 0);
  }

  // Collapsed rows leave the DOM and the row map; their data stays, kept current by live
  // updates, so opening again needs no request.
  close(node, item, children, toggle) {
    item.classList.remove("open");
    toggle.setAttribute("aria-expanded", "false");
    const drop = (n) => {
      this.rows.delete(n.id);
      for (const child of n.children ?? []) drop(child);
    };
    for (const child of node.children ?? []) drop(child);
    children.replaceChildren();
  }
}
