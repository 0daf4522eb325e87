// The objective tree. Fast at 10,000 objectives: a node's children are built only when it is
// expanded (long lists in slices), an id -> row map makes a live update O(1), and updates are
// painted at most once per animation frame.

import { el, paintBar } from "./grades.js";

const SLICE = 200; // children rendered per "show more"
const OPEN_DEPTH = 2; // company and division levels start expanded

export class Tree {
  constructor(root, { onSelect, ownerLabel }) {
    this.root = root;
    this.onSelect = onSelect;
    this.ownerLabel = ownerLabel;
    this.nodes = new Map(); // id -> tree node (from the API) with .depth
    this.rows = new Map(); // id -> rendered row parts, only for built rows
    this.expanded = new Map(); // id -> open or not, as last toggled: kept when the tree reloads
    this.dirty = new Set();
    this.frame = 0;
  }

  load(forest) {
    this.nodes.clear();
    this.rows.clear();
    const index = (node, depth) => {
      node.depth = depth;
      this.nodes.set(node.id, node);
      for (const child of node.children) index(child, depth + 1);
    };
    for (const node of forest) index(node, 0);
    this.root.replaceChildren();
    this.appendSlice(this.root, forest, 0);
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
    const toggle = el("button", { type: "button", class: "toggle", "aria-label": "expand" });
    const fill = el("div", { class: "fill" });
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
      el("div", { class: "bar" }, fill),
      pct,
    );
    const kpis = el("div", { class: "kpis" });
    const children = el("ul", { class: "children" });
    const item = el("li", { class: "node" }, row, kpis, children);
    paintBar(fill, pct, node.progress_percentage);
    this.rows.set(node.id, { row, fill, pct, owner, kpis });
    title.addEventListener("click", () => this.onSelect(node.id));
    if (node.children.length === 0) {
      toggle.classList.add("leaf");
      toggle.disabled = true;
    } else {
      toggle.addEventListener("click", () => this.toggle(node, item, children, toggle));
      if (this.expanded.get(node.id) ?? node.depth < OPEN_DEPTH) this.toggle(node, item, children, toggle);
    }
    return item;
  }

  toggle(node, item, children, toggle) {
    const open = !item.classList.contains("open");
    this.expanded.set(node.id, open);
    item.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open && children.childElementCount === 0) this.appendSlice(children, node.children, 0);
    if (!open) this.forget(node, children); // collapsed rows leave the DOM and the map
  }

  forget(node, children) {
    const drop = (n) => {
      this.rows.delete(n.id);
      for (const child of n.children) drop(child);
    };
    for (const child of node.children) drop(child);
    children.replaceChildren();
  }
}
