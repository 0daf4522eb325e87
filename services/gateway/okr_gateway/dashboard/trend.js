// The selected objective's trend: its progress over its period (GET .../progress/history, a
// point per UTC day) against the expected line, from 0 % on start_date to 100 % after
// end_date, with today marked. Inline SVG drawn here: no chart library, nothing from a CDN.

import { api } from "./api.js";
import { percent } from "./grades.js";

const SVG = "http://www.w3.org/2000/svg";
const DAY_MS = 86400000;
const WIDTH = 340;
const HEIGHT = 140;
const PAD = { left: 30, right: 8, top: 8, bottom: 18 };

export async function progressHistory(objectiveId) {
  const { points } = await api(`/api/v1/objectives/${objectiveId}/progress/history?bucket=day`);
  return points;
}

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

export function trendChart(objective, points) {
  const start = Date.parse(objective.start_date);
  const end = Date.parse(objective.end_date) + DAY_MS; // the period ends after its last day
  const times = points.map((point) => Date.parse(point.at));
  const first = Math.min(start, ...times);
  const last = Math.max(end, ...times);
  const x = (time) => PAD.left + ((time - first) / (last - first || 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (progress) => HEIGHT - PAD.bottom - (Math.max(0, Math.min(100, progress)) / 100) * (HEIGHT - PAD.top - PAD.bottom);
  const xy = (time, progress) => `${x(time).toFixed(1)},${y(progress).toFixed(1)}`;

  const chart = svg("svg", { class: "trend", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "data-points": points.length });
  chart.append(svg("title", {}, `progress of “${objective.title}” against the expected pace`));
  for (const level of [0, 50, 100]) {
    chart.append(svg("line", { class: "trend-grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(level), y2: y(level) }));
    chart.append(svg("text", { class: "trend-axis", x: PAD.left - 4, y: y(level) + 3, "text-anchor": "end" }, `${level}`));
  }
  chart.append(svg("text", { class: "trend-axis", x: PAD.left, y: HEIGHT - 4 }, objective.start_date));
  chart.append(svg("text", { class: "trend-axis", x: WIDTH - PAD.right, y: HEIGHT - 4, "text-anchor": "end" }, objective.end_date));
  const expected = [xy(first, 0), xy(start, 0), xy(end, 100), xy(last, 100)];
  chart.append(svg("polyline", { class: "trend-expected", points: expected.join(" ") }));
  const now = Date.now();
  if (now >= first && now <= last) {
    chart.append(svg("line", { class: "trend-today", x1: x(now), x2: x(now), y1: PAD.top, y2: HEIGHT - PAD.bottom }));
  }
  if (points.length) {
    const line = points.map((point, i) => xy(times[i], point.progress));
    chart.append(svg("polyline", { class: "trend-progress", points: line.join(" ") }));
    const final = points[points.length - 1];
    const [lastX, lastY] = line[line.length - 1].split(",");
    chart.append(svg("circle", { class: "trend-dot", cx: lastX, cy: lastY, r: 3 }));
    chart.append(svg("text", { class: "trend-last", x: Number(lastX) + 5, y: Number(lastY) - 4 }, percent(final.progress)));
  }
  return chart;
}
