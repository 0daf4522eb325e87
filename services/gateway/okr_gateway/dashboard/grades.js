// OKR grading colours: red below 40 %, amber to 70 %, green above.

export function grade(progress) {
  if (progress < 40) return "red";
  if (progress <= 70) return "amber";
  return "green";
}

export function percent(progress) {
  return `${Math.round(progress * 10) / 10} %`;
}

export function paintBar(fill, label, progress) {
  const clamped = Math.max(0, Math.min(100, progress));
  fill.style.width = `${clamped}%`;
  fill.className = `fill ${grade(clamped)}`;
  label.textContent = percent(clamped);
}

// A small helper to build elements without ever parsing data as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
