// The side list (virtualised: 100k photos, a few dozen DOM nodes), its tabs and the counts.
// "In view" is the photos-in-view panel: the photos that pass the filters inside the map's
// bounds, newest first, redrawn as the map moves. Each row shows a thumbnail (loaded only when
// the row is drawn), the name, the date in the user's locale and the place (fetched for the
// drawn rows only, from /api/brief).
import * as api from './api.js';
import { el, withCode } from './dom.js';
import { currentFilter, nameMatches, passes } from './filters.js';
import { map } from './map.js';
import { C, SOURCE_LABEL, state } from './state.js';
import { refreshTimeline } from './timeline.js';
import { fmtDay } from './when.js';

const ROW_PX = 58;
const TABS = { unlocated: ['unlocated', 'pending'], failed: ['failed'], duplicates: ['duplicate'] };
// The Duplicates tab shows the copies of located photos beside the exact duplicates: kept in the
// library (the default) until the user files one as a duplicate (its popup).
const isCopy = (row) => row[C.status] === 'located' && row[C.source] === 'copy';

// The server's order (rows.newest_first): the plausible days newest first, then the days a camera
// clock got wrong, then the undated; by name within a day.
const dateKey = (row) => (row[C.date] === null ? '0' : (row[C.clock] ? '1' : '2') + row[C.date]);
const byDateDesc = (a, b) => {
  const ka = dateKey(a); const kb = dateKey(b);
  return kb < ka ? -1 : kb > ka ? 1 : a[C.name] < b[C.name] ? -1 : a[C.name] > b[C.name] ? 1 : 0;
};

/** A test for "is this point inside the map's view", correct across the antimeridian and when
 * the view spans the whole world. */
function viewTest() {
  const b = map.getBounds();
  const south = b.getSouth(); const north = b.getNorth(); const west = b.getWest(); const east = b.getEast();
  const width = east - west;
  return (lat, lon) => lat >= south && lat <= north && (width >= 360 || (((lon - west) % 360) + 360) % 360 <= width);
}

/** Two lists in byDateDesc order, merged. */
function merge(a, b) {
  const out = new Array(a.length + b.length);
  let i = 0; let j = 0; let o = 0;
  while (i < a.length && j < b.length) out[o++] = byDateDesc(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[o++] = a[i++];
  while (j < b.length) out[o++] = b[j++];
  return out;
}

/** The rows that pass `test`, newest first. The server sends the rows in this order
 * (rows.newest_first), so only the rows that changed since are sorted: no sort of a million
 * rows each time the map moves. */
function ordered(test) {
  const sorted = [];
  const late = [];
  for (const row of state.rows.values()) {
    if (test(row)) (state.unsorted.has(row[C.id]) ? late : sorted).push(row);
  }
  return late.length ? merge(sorted, late.sort(byDateDesc)) : sorted;
}

function listItems() {
  if (state.tab === 'photos') {
    const f = currentFilter();
    const inView = viewTest();
    return ordered((row) => row[C.lat] !== null && passes(row, f) && inView(row[C.lat], row[C.lon]));
  }
  const wanted = TABS[state.tab];
  const f = currentFilter();
  const copies = state.tab === 'duplicates';
  return ordered((r) => (wanted.includes(r[C.status]) || (copies && isCopy(r))) && nameMatches(r, f.q) && (!f.undated || r[C.date] === null));
}

// Details the rows don't carry (place, the photo a duplicate or a copy repeats), fetched for drawn rows.
const briefs = new Map(); // id -> brief, or null while asked
let briefTimer = null;

/** Forget the details of rows that changed (all of them: `ids` null): asked again when drawn. */
export function forgetBriefs(ids) {
  if (ids === null) briefs.clear();
  else for (const id of ids) briefs.delete(id);
}

function wantBriefs(ids, fill) {
  const missing = ids.filter((id) => !briefs.has(id));
  if (!missing.length) return;
  for (const id of missing) briefs.set(id, null);
  clearTimeout(briefTimer);
  briefTimer = setTimeout(async () => {
    const ask = [...briefs].filter(([, b]) => b === null).map(([id]) => id).slice(0, 200);
    try {
      const got = await api.fetchBriefs(ask);
      for (const id of ask) briefs.set(id, got[id] || {});
      fill();
    } catch (err) {
      for (const id of ask) briefs.delete(id); // asked again when drawn again
    }
  }, 60);
}

function placeText(row) {
  const brief = briefs.get(row[C.id]);
  if (!brief) return '';
  if (row[C.status] === 'duplicate') return brief.duplicate_name ? 'duplicate of ' + brief.duplicate_name : 'duplicate';
  if (brief.copy_name) return 'copy of ' + brief.copy_name + (brief.place ? ' · ' + brief.place : '');
  return brief.place || '';
}

class VirtualList {
  constructor(box, onSelect) {
    this.box = box;
    this.space = box.querySelector('.vlist-space');
    this.items = [];
    this.revealed = null;
    this.nodes = new WeakMap(); // row array -> its node
    box.addEventListener('click', (e) => {
      const row = e.target.closest('.vrow');
      if (!row) return;
      if (e.target.closest('.vrow-thumb')) viewPhoto(row.dataset.id);
      else onSelect(row.dataset.id);
    });
    box.addEventListener('keydown', (e) => {
      const row = e.target.closest('.vrow');
      if (row && (e.key === 'Enter' || e.key === ' ') && !e.target.closest('.vrow-thumb')) { e.preventDefault(); onSelect(row.dataset.id); }
    });
    box.addEventListener('scroll', () => this.draw(), { passive: true });
    new ResizeObserver(() => this.draw()).observe(box);
  }

  setItems(items) {
    if (this.visible(state.selected)) this.revealed = null; // the selected row shown stays shown
    this.items = items;
    this.space.style.height = items.length * ROW_PX + 'px';
    this.box.dataset.total = String(items.length);
    this.draw();
  }

  /** Whether the row of `id` is in view in the list now. */
  visible(id) {
    if (!id) return false;
    const first = Math.ceil(this.box.scrollTop / ROW_PX);
    const last = Math.floor((this.box.scrollTop + this.box.clientHeight) / ROW_PX);
    return this.items.slice(first, last).some((r) => r[C.id] === id);
  }

  /** Scroll the selected photo's row into view, once per selection. */
  reveal() {
    if (!state.selected || state.selected === this.revealed) return;
    const i = this.items.findIndex((r) => r[C.id] === state.selected);
    if (i < 0) return;
    this.revealed = state.selected;
    const top = i * ROW_PX;
    if (top < this.box.scrollTop || top + ROW_PX > this.box.scrollTop + this.box.clientHeight) {
      this.box.scrollTop = Math.max(0, top - (this.box.clientHeight - ROW_PX) / 2);
    }
  }

  draw() {
    this.reveal();
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
      node.setAttribute('aria-selected', String(row[C.id] === state.selected));
      fillNode(node, row);
      nodes.push(node);
    }
    if (!this.items.length) nodes.push(el('p', { class: 'empty' }, 'Nothing here.'));
    // Touch only what changed: a node that stays is never detached (a click on it survives).
    const keep = new Set(nodes);
    for (const child of [...this.space.children]) if (!keep.has(child)) child.remove();
    for (const node of nodes) if (node.parentNode !== this.space) this.space.append(node);
    wantBriefs(this.items.slice(first, last).map((r) => r[C.id]), () => this.draw());
  }
}

/** What the brief tells, once it is in: the place, and the thumbnail if the file is there. */
function fillNode(node, row) {
  const brief = briefs.get(row[C.id]);
  if (!brief || node.dataset.filled) return;
  node.dataset.filled = 'true';
  node.querySelector('.vrow-place').textContent = placeText(row);
  const button = node.querySelector('.vrow-thumb');
  if (!brief.has_file) { button.classList.add('none'); button.disabled = true; return; }
  if (!brief.thumb) { button.classList.add('none'); return; } // a failed file: no picture to show, the file to open
  const img = el('img', { alt: '', loading: 'lazy', decoding: 'async', width: 48, height: 48, src: '/thumb/' + encodeURIComponent(row[C.id]) });
  img.addEventListener('error', () => { img.remove(); button.classList.add('none'); });
  button.append(img);
}

/** The day a row was taken as the locale writes it, flagged when a camera clock got it wrong. */
export function dayText(row) {
  if (row[C.date] === null) return 'undated';
  return fmtDay(row[C.date]) + (row[C.clock] ? ' (camera clock?)' : '');
}

function rowNode(r) {
  const status = r[C.status];
  const detail = status === 'located'
    ? [dayText(r), ' · ', SOURCE_LABEL[r[C.source]] || '']
    : status === 'duplicate' ? [r[C.date] === null ? 'duplicate' : dayText(r)]
      : [status === 'pending' ? 'pending: ' : '', ...withCode(r[C.error] || status)];
  return el('div', { class: 'vrow', role: 'option', tabIndex: 0, dataset: { id: r[C.id] } },
    el('button', { type: 'button', class: 'vrow-thumb', title: 'View the photo', 'aria-label': 'View ' + r[C.name] }),
    el('span', { class: 'photo-marker ' + (status === 'located' ? r[C.source] || 'none' : 'none') }),
    el('span', { class: 'vrow-text' },
      el('span', { class: 'vrow-name' }, r[C.name]),
      el('span', { class: 'vrow-detail' }, ...detail),
      el('span', { class: 'vrow-place' })));
}

let list = null;
let viewPhoto = () => {};

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

/** `fn(id)` when a row's thumbnail is clicked: the photo viewer. */
export function onView(fn) { viewPhoto = fn; }

export function refreshList() {
  list.setItems(listItems());
  document.querySelector('#tabs [data-tab="photos"] .n').textContent = state.tab === 'photos' ? list.items.length.toLocaleString() : '';
  refreshTimeline();
}

export const redrawList = () => list.draw();
/** The rows the list shows now, in order (the photo viewer steps through them). */
export const currentItems = () => list.items;

export function showCounts(counts) {
  if (!counts) return;
  state.counts = counts;
  for (const dd of document.querySelectorAll('#counts [data-count]')) {
    dd.textContent = (counts[dd.dataset.count] || 0).toLocaleString();
  }
}
