// Objectives on a timeline (GET /api/v1/objectives/gantt/view), coloured by progress, with a
// line at today (UTC) to read each bar against. Only the rows in sight are built, so 10,000
// items scroll as fast as 10.

import { el, grade, percent } from "./grades.js";

const ROW_HEIGHT = 26;
const DAY_MS = 86400000;

export class Gantt {
  constructor(scroller, rows, axis) {
    this.scroller = scroller;
    this.rows = rows;
    this.axis = axis;
    this.items = [];
    this.byId = new Map();
    this.frame = 0;
    this.today = el("div", { class: "gantt-today", title: "today" });
    scroller.addEventListener("scroll", () => this.schedule());
  }

  load(items) {
    this.items = items;
    this.byId = new Map(items.map((item) => [item.id, item]));
    // A loop, not Math.min(...dates): 222,222 arguments overflow the stack at 111,111 items.
    let first = Infinity;
    let last = -Infinity;
    for (const item of items) {
      first = Math.min(first, Date.parse(item.start));
      last = Math.max(last, Date.parse(item.end) + DAY_MS);
    }
    this.first = first;
    this.span = Math.max(DAY_MS, last - first);
    this.rows.style.height = `${items.length * ROW_HEIGHT}px`;
    this.drawAxis();
    this.schedule();
  }

  setProgress(id, progress) {
    const item = this.byId.get(id);
    if (!item) return;
    item.progress = progress;
    this.schedule();
  }

  schedule() {
    this.frame ||= requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  drawAxis() {
    this.axis.replaceChildren();
    if (!this.items.length) return;
    const now = Date.now();
    if (now >= this.first && now <= this.first + this.span) {
      const mark = el("span", { class: "tick today", text: "today" });
      mark.style.left = `${this.offset(now)}%`;
      this.axis.append(mark);
    }
    const start = new Date(this.first);
    const month = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1));
    while (month.getTime() < this.first + this.span) {
      const tick = el("span", { class: "tick", text: month.toISOString().slice(0, 7) });
      tick.style.left = `${this.offset(month.getTime())}%`;
      this.axis.append(tick);
      month.setUTCMonth(month.getUTCMonth() + 1);
    }
  }

  offset(time) {
    return Math.max(0, ((time - this.first) / this.span) * 100);
  }

  draw() {
    const top = this.scroller.scrollTop;
    const from = Math.max(0, Math.floor(top / ROW_HEIGHT) - 10);
    const to = Math.min(this.items.length, from + Math.ceil(this.scroller.clientHeight / ROW_HEIGHT) + 20);
    const built = [];
    for (let i = from; i < to; i++) built.push(this.row(this.items[i], i));
    this.rows.replaceChildren(...built, ...this.todayLine());
  }

  // Where today falls on the tracks (they start after the labels' column), or nothing when it
  // is outside the chart.
  todayLine() {
    const now = Date.now();
    if (!this.items.length || now < this.first || now > this.first + this.span) return [];
    this.today.style.left = `calc(var(--gantt-label) + (100% - var(--gantt-label)) * ${(now - this.first) / this.span})`;
    return [this.today];
  }

  row(item, index) {
    const start = Date.parse(item.start);
    const end = Date.parse(item.end) + DAY_MS;
    const bar = el("div", { class: `gantt-bar ${grade(item.progress)}`, title: `${item.start} – ${item.end}` });
    bar.style.left = `${this.offset(start)}%`;
    bar.style.width = `${((end - start) / this.span) * 100}%`;
    const done = el("div", { class: "gantt-done" });
    done.style.width = `${item.progress}%`;
    bar.append(done, el("span", { class: "gantt-pct", text: percent(item.progress) }));
    const line = el(
      "div",
      { class: "gantt-row", "data-id": String(item.id) },
      el("span", { class: `gantt-label ${item.level}`, text: item.title }),
      el("div", { class: "gantt-track" }, bar),
    );
    line.style.top = `${index * ROW_HEIGHT}px`;
    return line;
  }
}
