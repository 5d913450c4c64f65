// Placing photos by hand, safely: "Place on map" drops a draggable pin and a bar with one field,
// Save and Cancel. Nothing is saved until Save: a click on the map only moves the pin, a
// double-click zooms as it always does. At world-scale zooms a pin put by hand is too coarse,
// so Save asks to zoom in first (a point typed or pasted in the field is exact already).
// The field takes a place name or coordinates in any form the server reads (GET /api/where:
// one parser, geolocator/coords.py). Several photos picked in the list (ctrl/shift-click, or
// "All in the list") are placed together, with one request.
/* global L */
import * as api from './api.js';
import { el, fmtCoord, notice } from './dom.js';
import { currentItems } from './list.js';
import { map } from './map.js';
import { C, state } from './state.js';

export const MIN_HAND_ZOOM = 6; // below this a pin dropped by hand is off by tens of kilometres

let applyRows = async () => {};
let showPhoto = () => {}; // popup.js's select, given by main.js (popup.js imports this module)
const picked = new Set(); // ids picked in the list for placing together
let lastPicked = null;
let placing = null; // {ids, pin, bar, exact}

/** `apply(rows, counts)` merges rows from the server into the page; `select(id, fly)` opens a
 * photo's popup (see main.js). */
export function initPlace(apply, select) {
  applyRows = apply;
  showPhoto = select;
  map.on('click', (e) => { if (placing) movePin(e.latlng, false); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && placing) stopPlacing(); });
  initPicking();
}

const pinIcon = L.divIcon({ className: 'place-pin', iconSize: [22, 22], iconAnchor: [11, 22] });

/** Start placing `ids` (one photo's `detail` gives the pin's first point when it has one). */
export function startPlacing(ids, detail) {
  stopPlacing();
  map.closePopup();
  const known = detail && detail.lat !== null && detail.lon !== null;
  const at = known ? L.latLng(detail.lat, detail.lon) : map.getCenter();
  const pin = L.marker(at, { icon: pinIcon, draggable: true, keyboard: false, zIndexOffset: 1000 }).addTo(map);
  const what = ids.length === 1 ? '“' + (detail ? detail.name : (state.rows.get(ids[0]) || [])[C.name]) + '”' : ids.length + ' photos';
  const field = el('input', { type: 'text', name: 'where', placeholder: 'Place name or coordinates', autocomplete: 'off', 'aria-label': 'Place name or coordinates' });
  const message = el('p', { class: 'place-message', role: 'status' });
  const form = el('form', { class: 'place-find' }, field, el('button', { type: 'submit' }, 'Find'));
  const bar = el('div', { class: 'place-bar', role: 'dialog', 'aria-label': 'Place ' + what },
    el('p', { class: 'place-title' }, 'Where was ' + what + ' taken? Drag the pin, click the map, or type a place or coordinates.'),
    form,
    message,
    el('div', { class: 'place-buttons' },
      el('button', { type: 'button', class: 'place-save', onclick: () => save() }, 'Save'),
      el('button', { type: 'button', class: 'place-cancel', onclick: () => stopPlacing() }, 'Cancel')));
  form.addEventListener('submit', (e) => { e.preventDefault(); find(field.value); });
  L.DomEvent.disableClickPropagation(bar);
  L.DomEvent.disableScrollPropagation(bar);
  map.getContainer().append(bar);
  map.getContainer().classList.add('placing');
  pin.on('dragend', () => { if (placing) placing.exact = false; showPoint(); });
  placing = { ids, pin, bar, message, exact: known };
  state.placing = ids;
  showPoint();
  if (!known && map.getZoom() < MIN_HAND_ZOOM) say('Zoom in first (or type a place), then drag the pin to the spot.');
  if (known && !map.getBounds().contains(at)) map.setView(at, map.getZoom(), { animate: false });
  field.focus();
}

export function stopPlacing() {
  if (!placing) return;
  placing.pin.remove();
  placing.bar.remove();
  map.getContainer().classList.remove('placing');
  placing = null;
  state.placing = null;
}

const say = (text) => { if (placing) placing.message.textContent = text; };

// The pin's point, its longitude brought into ±180 only when it is outside (Leaflet's wrap()
// would change a typed 11.2558 into 11.255800000000022).
function pinPoint() {
  const p = placing.pin.getLatLng();
  return Math.abs(p.lng) <= 180 ? p : p.wrap();
}

function showPoint() {
  const p = pinPoint();
  placing.bar.dataset.lat = p.lat;
  placing.bar.dataset.lon = p.lng;
  say('Pin at ' + fmtCoord(p.lat, p.lng) + '.');
}

function movePin(latlng, exact) {
  placing.pin.setLatLng(latlng);
  placing.exact = exact;
  showPoint();
}

async function find(text) {
  if (!text.trim()) return;
  say('Looking…');
  let where;
  try {
    where = await api.where(text);
  } catch (err) {
    say(err.message);
    return;
  }
  if (!placing) return;
  const at = L.latLng(where.lat, where.lon);
  movePin(at, true);
  const zoom = where.kind === 'country' ? 5 : where.kind === 'region' ? 7 : where.kind === 'coordinates' ? 16 : 12;
  map.setView(at, Math.max(map.getZoom(), zoom), { animate: false });
  say((where.label ? where.label + ': ' : '') + fmtCoord(where.lat, where.lon) + '. Drag the pin if needed, then Save.');
}

async function save() {
  if (!placing) return;
  if (!placing.exact && map.getZoom() < MIN_HAND_ZOOM) {
    say('Zoom in first: at this scale the pin is too coarse to save.');
    return;
  }
  const { ids } = placing;
  const p = pinPoint();
  say('Saving…');
  let saved;
  try {
    saved = await api.saveLocations(ids, p.lat, p.lng);
  } catch (err) {
    say(err.message);
    return;
  }
  stopPlacing();
  clearPicked();
  await applyRows(saved.rows, saved.counts); // the server's rows for the map (never rebuilt here), and the counts now
  const first = saved.records[0];
  notice(saved.records.length === 1
    ? 'Saved: ' + first.name + ' is now at ' + fmtCoord(first.lat, first.lon) + '.'
    : 'Saved: ' + saved.records.length + ' photos are now at ' + fmtCoord(first.lat, first.lon) + '.');
  if (saved.records.length === 1) showPhoto(first.id, true);
}

// -- picking several photos in the list ------------------------------------------------------------

function initPicking() {
  const list = document.getElementById('list');
  const bar = el('div', { id: 'picked', hidden: true },
    el('span', { class: 'picked-count' }),
    el('button', { type: 'button', class: 'picked-place', onclick: () => startPlacing([...picked], null) }, 'Place on map'),
    el('button', { type: 'button', class: 'picked-clear', onclick: () => clearPicked() }, 'Clear'));
  const all = el('button', { type: 'button', id: 'pick-all', title: 'Pick every photo in the list, to place them together' }, 'Pick all in the list');
  all.addEventListener('click', () => {
    for (const row of currentItems()) picked.add(row[C.id]);
    showPicked();
  });
  list.before(bar, all);
  // Before list.js's own click handler: a ctrl/shift-click picks instead of selecting.
  list.addEventListener('click', (e) => {
    const row = e.target.closest('.vrow');
    if (!row || !(e.ctrlKey || e.metaKey || e.shiftKey)) return;
    e.preventDefault();
    e.stopPropagation();
    const id = row.dataset.id;
    if (e.shiftKey && lastPicked) {
      const ids = currentItems().map((r) => r[C.id]);
      const [a, b] = [ids.indexOf(lastPicked), ids.indexOf(id)].sort((x, y) => x - y);
      if (a >= 0) for (const other of ids.slice(a, b + 1)) picked.add(other);
      else picked.add(id);
    } else if (picked.has(id)) {
      picked.delete(id);
    } else {
      picked.add(id);
    }
    lastPicked = id;
    showPicked();
  }, true);
  // The list draws rows as they scroll into view: mark the picked ones as they appear.
  new MutationObserver(markRows).observe(list, { childList: true, subtree: true });
}

function markRows() {
  for (const node of document.querySelectorAll('#list .vrow')) {
    const on = picked.has(node.dataset.id);
    if (node.classList.contains('picked') !== on) node.classList.toggle('picked', on);
  }
}

function showPicked() {
  const bar = document.getElementById('picked');
  bar.hidden = picked.size === 0;
  bar.querySelector('.picked-count').textContent = picked.size + (picked.size === 1 ? ' photo picked' : ' photos picked');
  markRows();
}

function clearPicked() {
  picked.clear();
  lastPicked = null;
  showPicked();
}
