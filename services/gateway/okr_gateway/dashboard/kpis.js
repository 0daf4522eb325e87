// Linked KPIs of one objective: latest value, a sparkline of the history, and the form to
// record a value where the KPIs service says the caller may write values. Fetched only for the
// objective that is selected, never for the whole tree.

import { api } from "./api.js";
import { el, grade } from "./grades.js";

const SVG = "http://www.w3.org/2000/svg";

export async function linkedKpis(objectiveId) {
  const links = await api(`/api/v1/objectives/${objectiveId}/kpis`);
  return Promise.all(
    links.map(async (link) => {
      const [kpi, values] = await Promise.all([
        api(`/api/v1/kpis/${link.kpi_id}`),
        api(`/api/v1/kpis/${link.kpi_id}/values?limit=30`),
      ]);
      return { link, kpi, values: values.reverse() }; // oldest first, for the line
    }),
  );
}

// Every KPI the caller may see, for the link form. The list API answers at most 500 at a time,
// so the rest are read page by page: a KPI past the first page must not silently go missing.
export async function allKpis(pageSize = 500) {
  const first = await api(`/api/v1/kpis?limit=${pageSize}`);
  const pages = [];
  for (let skip = first.items.length; skip < first.total; skip += pageSize) {
    pages.push(api(`/api/v1/kpis?skip=${skip}&limit=${pageSize}`));
  }
  return [first, ...(await Promise.all(pages))].flatMap((page) => page.items);
}

export function kpiLine(entry) {
  const { kpi, link, values } = entry;
  const latest = kpi.current_value === null ? "no value yet" : `${kpi.current_value} ${kpi.unit}`.trim();
  const progress = kpi.progress_percentage;
  return el(
    "div",
    { class: "kpi", "data-kpi": String(kpi.id) },
    el("span", { class: "kpi-title", text: `${kpi.title} (×${link.weight})` }),
    el("span", { class: "kpi-value", text: latest }),
    sparkline(values.map((v) => v.value)),
    el("span", {
      class: `kpi-pct ${progress === null ? "" : grade(progress)}`,
      text: progress === null ? "–" : `${Math.round(progress)} %`,
    }),
  );
}

export function sparkline(points, width = 90, height = 20) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  if (points.length < 2) return svg;
  const low = Math.min(...points);
  const range = Math.max(...points) - low || 1;
  const step = width / (points.length - 1);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute(
    "points",
    points.map((p, i) => `${(i * step).toFixed(1)},${(height - 2 - ((p - low) / range) * (height - 4)).toFixed(1)}`).join(" "),
  );
  svg.append(line);
  return svg;
}

export function recordValueForm(kpi, done) {
  const value = el("input", { name: "value", type: "number", step: "any", required: "", "aria-label": `value for ${kpi.title}` });
  const form = el(
    "form",
    { class: "record-value" },
    el("span", { text: `Record ${kpi.title}` }),
    value,
    el("button", { type: "submit", text: "Record" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    done(
      api(`/api/v1/kpis/${kpi.id}/values`, {
        method: "POST",
        body: { value: Number(value.value), source: "dashboard" },
        headers: { "Idempotency-Key": crypto.randomUUID() },
      }),
      "value recorded; the bars move when the rollup arrives",
    );
  });
  return form;
}
