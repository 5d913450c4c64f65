// The side list (virtualised: 100k photos, a few dozen DOM nodes), its tabs and the counts.
import { el } from './dom.js';
import { currentFilter, nameMatches } from './filters.js';
import { C, SOURCE_LABEL, state } from './state.js';

const ROW_PX = 46;

const byDateDesc = (a, b) => ((b[C.date] || '') < (a[C.date] || '') ? -1 : (b[C.date] || '') > (a[C.date] || '') ? 1
  : a[C.name] < b[C.name] ? -1 : a[C.name] > b[C.name] ? 1 : 0);

function listItems() {
  if (state.tab === 'photos') return [...state.onMap].map((id) => state.rows.get(id)).sort(byDateDesc);
  const wanted = state.tab === 'failed' ? ['failed'] : ['unlocated', 'pending'];
  const q = currentFilter().q;
  return [...state.rows.values()].filter((r) => wanted.includes(r[C.status]) && nameMatches(r, q)).sort(byDateDesc);
}

class VirtualList {
  constructor(box, onSelect) {
    this.box = box;
    this.space = box.querySelector('.vlist-space');
    this.items = [];
    this.nodes = new WeakMap(); // row array -> its button
    box.addEventListener('click', (e) => {
      const row = e.target.closest('.vrow');
      if (row) onSelect(row.dataset.id);
    });
    box.addEventListener('scroll', () => this.draw(), { passive: true });
    new ResizeObserver(() => this.draw()).observe(box);
  }

  setItems(items) {
    this.items = items;
    this.space.style.height = items.length * ROW_PX + 'px';
    this.box.dataset.total = String(items.length);
    this.draw();
  }

  draw() {
    const first = Math.max(0, Math.floor(this.box.scrollTop / ROW_PX) - 4);
    const last = Math.min(this.items.length, first + Math.ceil(this.box.clientHeight / ROW_PX) + 8);
    const nodes = [];
    for (let i = first; i < last; i++) {
      const row = this.items[i];
      // Reuse the node of an unchanged row: a redraw never swaps the node under the pointer.
      let node = this.nodes.get(row);
      if (!node) { node = rowNode(row); this.nodes.set(row, node); }
      node.style.transform = 'translateY(' + i * ROW_PX + 'px)';
      node.classList.toggle('selected', row[C.id] === state.selected);
      nodes.push(node);
    }
    if (!this.items.length) nodes.push(el('p', { class: 'empty' }, 'Nothing here.'));
    // Touch only what changed: a node that stays is never detached (a click on it survives).
    const keep = new Set(nodes);
    for (const child of [...this.space.children]) if (!keep.has(child)) child.remove();
    for (const node of nodes) if (node.parentNode !== this.space) this.space.append(node);
  }
}

function rowNode(r) {
  const status = r[C.status];
  const detail = status === 'located'
    ? [r[C.date] || 'no date', ' · ', SOURCE_LABEL[r[C.source]] || '']
    : [status === 'pending' ? 'pending: ' : '', r[C.error] || status];
  return el('button', { type: 'button', class: 'vrow', dataset: { id: r[C.id] } },
    el('span', { class: 'photo-marker ' + (status === 'located' ? r[C.source] || 'none' : 'none') }),
    el('span', { class: 'vrow-text' }, el('span', { class: 'vrow-name' }, r[C.name]), el('span', { class: 'vrow-detail' }, ...detail)));
}

let list = null;

/** Build the list; `onSelect(id)` when a row is clicked. */
export function initList(onSelect) {
  list = new VirtualList(document.getElementById('list'), onSelect);
  for (const tab of document.querySelectorAll('#tabs [data-tab]')) {
    tab.addEventListener('click', () => {
      state.tab = tab.dataset.tab;
      for (const t of document.querySelectorAll('#tabs [data-tab]')) t.setAttribute('aria-selected', String(t === tab));
      list.box.scrollTop = 0;
      refreshList();
    });
  }
}

export const refreshList = () => list.setItems(listItems());
export const redrawList = () => list.draw();

export function showCounts(counts) {
  if (!counts) return;
  for (const dd of document.querySelectorAll('#counts [data-count]')) {
    dd.textContent = (counts[dd.dataset.count] || 0).toLocaleString();
  }
}
