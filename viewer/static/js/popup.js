// Selecting a photo: its popup (Leaflet gets DOM nodes, never markup), and editing its location
// by the form, by dragging its pin, or by a click on the map.
/* global L */
import * as api from './api.js';
import { el, fmtCoord, notice } from './dom.js';
import { redrawList } from './list.js';
import { clearUncertainty, map, reveal, showUncertainty } from './map.js';
import { SOURCE_LABEL, state } from './state.js';

let applyRows = async () => {};

/** `apply(rows)` merges rows from the server into the page (see main.js). */
export function initPopup(apply) {
  applyRows = apply;
  map.on('click', (e) => {
    if (!state.placing) return;
    const id = state.placing;
    stopPlacing();
    const p = e.latlng.wrap();
    save(id, p.lat, p.lng, null);
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && state.placing) stopPlacing(); });
}

export async function select(id, fly) {
  stopDragging();
  state.selected = id;
  redrawList();
  if (!state.rows.get(id)) return;
  let detail;
  try {
    detail = await api.fetchRecord(id);
  } catch (err) {
    notice('Could not load this photo: ' + err.message);
    return;
  }
  const marker = state.onMap.has(id) ? state.markers.get(id) : null;
  const content = popupContent(detail, marker);
  if (marker) {
    const open = () => {
      marker.bindPopup(content, { minWidth: 260, maxWidth: 320, autoPanPadding: [30, 30] }).openPopup();
      showUncertainty(detail);
    };
    if (fly) reveal(marker, open); else open();
  } else {
    clearUncertainty();
    const at = detail.lat !== null && detail.lon !== null ? [detail.lat, detail.lon] : map.getCenter();
    if (fly && detail.lat !== null) map.flyTo(at, Math.max(map.getZoom(), 10), { duration: 0.6 });
    L.popup({ minWidth: 260, maxWidth: 320 }).setLatLng(at).setContent(content).openOn(map);
  }
}

function popupContent(d, marker) {
  const fields = [
    ['Place', d.place],
    ['Taken', d.taken_at],
    ['Coordinates', d.lat !== null && d.lon !== null ? fmtCoord(d.lat, d.lon) : null],
    ['Source', d.source ? SOURCE_LABEL[d.source] : d.status],
    ['Camera', d.camera],
  ];
  if (d.source === 'ai') {
    fields.push(['Model', d.model], ['Confidence', d.confidence !== null ? Math.round(d.confidence * 100) + ' %' : null],
      ['Uncertainty', d.radius_km ? '± ' + d.radius_km.toLocaleString() + ' km' : null], ['Description', d.description]);
  }
  if (d.status !== 'located') fields.push(['Reason', d.error]);
  const dl = el('dl', { class: 'fields' });
  for (const [label, value] of fields) {
    if (value === null || value === undefined || value === '') continue;
    dl.append(el('dt', {}, label), el('dd', { dataset: { field: label.toLowerCase() } }, value));
  }
  const thumb = d.has_file ? el('img', { class: 'thumb', alt: '', src: d.thumb_url, width: 280 }) : null;
  if (thumb) thumb.addEventListener('error', () => thumb.remove());
  const body = el('div', { class: 'popup', dataset: { id: d.id } },
    d.has_file ? el('a', { href: d.image_url, target: '_blank', rel: 'noopener noreferrer' }, thumb) : null,
    el('h3', { class: 'popup-name' }, d.name),
    dl,
    d.has_file ? el('a', { class: 'full', href: d.image_url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the full image') : null);
  if (d.status !== 'failed' && d.status !== 'duplicate') body.append(fixForm(d, marker));
  return body;
}

function fixForm(d, marker) {
  const message = el('p', { class: 'fix-message', role: 'status' });
  const lat = el('input', { name: 'lat', type: 'number', step: 'any', min: -90, max: 90, required: true, placeholder: 'latitude', value: d.lat === null ? '' : +d.lat.toFixed(6) });
  const lon = el('input', { name: 'lon', type: 'number', step: 'any', min: -180, max: 180, required: true, placeholder: 'longitude', value: d.lon === null ? '' : +d.lon.toFixed(6) });
  const form = el('form', { class: 'fix' },
    el('p', { class: 'fix-title' }, d.status === 'located' ? 'Correct the location' : 'Place this photo'),
    el('div', { class: 'fix-row' }, lat, lon, el('button', { type: 'submit' }, 'Save')),
    el('div', { class: 'fix-row' },
      el('button', { type: 'button', class: 'place', onclick: () => startPlacing(d) }, 'Place on map'),
      marker ? el('button', { type: 'button', class: 'drag', onclick: () => startDragging(d, marker, message) }, 'Drag the pin') : null),
    message);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    save(d.id, Number(lat.value), Number(lon.value), message);
  });
  return form;
}

// Dragging closes the popup (Leaflet does that on dragstart), so the pin stays draggable
// until it is dropped or another photo is selected.
function stopDragging() {
  if (state.dragging && state.dragging.dragging) state.dragging.dragging.disable();
  state.dragging = null;
}

function startDragging(d, marker, message) {
  message.textContent = 'Drag the marker to where the photo was taken.';
  stopDragging();
  state.dragging = marker;
  marker.dragging.enable();
  marker.once('dragend', () => {
    stopDragging();
    const p = marker.getLatLng().wrap();
    save(d.id, p.lat, p.lng, null);
  });
}

function startPlacing(d) {
  state.placing = d.id;
  map.closePopup();
  map.getContainer().classList.add('placing');
  notice('Click the map where “' + d.name + '” was taken (Esc cancels).', true);
}

function stopPlacing() {
  state.placing = null;
  map.getContainer().classList.remove('placing');
  notice('');
}

async function save(id, lat, lon, message) {
  const say = (text) => { if (message) message.textContent = text; else notice(text); };
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    say('Latitude must be within ±90 and longitude within ±180.');
    return;
  }
  say('Saving…');
  let saved;
  try {
    saved = await api.saveLocation(id, lat, lon);
  } catch (err) {
    say(err.message);
    return;
  }
  await applyRows([saved.row]); // the server's row for the map: never rebuilt here
  notice('Saved: ' + saved.record.name + ' is now at ' + fmtCoord(saved.record.lat, saved.record.lon) + '.');
  select(id, true);
}
