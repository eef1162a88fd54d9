// Building DOM and SVG elements: the one helper the pages share.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * An HTML element with attributes and children. `class` sets the class name,
 * `text` the text content; null, undefined and false leave an attribute out and
 * true sets it empty; null and undefined children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** An SVG element with attributes (numbers are written as strings). */
export function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}
