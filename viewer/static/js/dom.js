// DOM helpers. No HTML strings built from data: every value from the store goes in with
// textContent or as a DOM property.

export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let noticeTimer = null;
export function notice(text, sticky) {
  const box = document.getElementById('notice');
  box.textContent = text;
  box.hidden = !text;
  clearTimeout(noticeTimer);
  if (text && !sticky) noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

export const fmtCoord = (lat, lon) => lat.toFixed(5) + ', ' + lon.toFixed(5);

/** A message as nodes: what it quotes between backticks (a command, `ollama pull qwen2.5vl`) as
 * code, the rest as text; never markup. */
export function withCode(text) {
  return String(text || '').split('`').map((part, i) => (i % 2 ? el('code', {}, part) : document.createTextNode(part)));
}

/** How much of the map the phone's sheet covers from below, in pixels (0 beside the map). */
export function sheetCover() {
  const side = document.getElementById('side').getBoundingClientRect();
  const area = document.getElementById('map').getBoundingClientRect();
  return side.top > area.top && side.left <= area.left ? Math.max(0, area.bottom - side.top) : 0;
}
