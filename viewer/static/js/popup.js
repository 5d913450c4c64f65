// Selecting a photo: its popup (Leaflet gets DOM nodes, never markup) with what is known of it
// and what can be done: place it by hand (place.js), revert its last location change, ask the
// AI again, or, while Ollama does not answer, retry now; fix its camera's clock (clock.js). A copy
// of a located photo links to its original (selecting it), and is kept beside it unless filed as
// a duplicate.
/* global L */
import { aiTrouble } from './ai.js';
import * as api from './api.js';
import { startClockFix, stopClockFix } from './clock.js';
import { el, fmtCoord, notice, sheetCover, withCode } from './dom.js';
import { redrawList } from './list.js';
import { clearUncertainty, map, reveal, showUncertainty, uncertaintyKm } from './map.js';
import { startPlacing, stopPlacing } from './place.js';
import { C, SOURCE_LABEL, state } from './state.js';
import { fmtTaken } from './when.js';

const WAITING_FOR_OLLAMA = 'AI unavailable, will retry: '; // aiworker.UNAVAILABLE

let applyRows = async () => {};

/** `apply(rows, counts)` merges rows from the server into the page (see main.js). */
export function initPopup(apply) {
  applyRows = apply;
}

export async function select(id, fly) {
  stopPlacing();
  stopClockFix();
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
  if (state.selected !== id) return; // another photo was chosen meanwhile
  const marker = state.onMap.has(id) ? state.markers.get(id) : null;
  const content = popupContent(detail);
  // Auto-pan keeps the popup clear of the phone's sheet too.
  const options = { minWidth: 260, maxWidth: 320, autoPanPaddingTopLeft: [30, 30], autoPanPaddingBottomRight: [30, 30 + sheetCover()] };
  if (marker) {
    const open = () => {
      marker.bindPopup(content, options).openPopup();
      showUncertainty(detail);
    };
    if (fly) reveal(marker, open, uncertaintyKm(detail)); else open();
  } else {
    clearUncertainty();
    const located = detail.lat !== null && detail.lon !== null;
    const at = located ? [detail.lat, detail.lon] : map.getCenter();
    if (fly && located) map.setView(at, Math.max(map.getZoom(), 10), { animate: false });
    L.popup(options).setLatLng(at).setContent(content).openOn(map);
    if (located) showUncertainty(detail);
  }
}

const waitsForOllama = (d) => d.status === 'pending' && (d.error || '').startsWith(WAITING_FOR_OLLAMA);

/** When a photo was taken: its capture time, "undated", or the time its camera's clock gave, flagged. */
function taken(d) {
  if (!d.taken_at) return 'undated';
  const row = state.rows.get(d.id);
  return fmtTaken(d.taken_at) + (row && row[C.clock] ? ' (camera clock?)' : '');
}

function popupContent(d) {
  const fields = [
    ['Place', d.place],
    ['Taken', taken(d)],
    ['Coordinates', d.lat !== null && d.lon !== null ? fmtCoord(d.lat, d.lon) : null],
    ['Source', d.source ? SOURCE_LABEL[d.source] || d.source : d.status],
    ['Copy of', d.source === 'copy' && d.copy_of ? originalLink(d.copy_of, d.copy_of_name) : null],
    ['Duplicate of', d.status === 'duplicate' && d.duplicate_of ? originalLink(d.duplicate_of, d.duplicate_of_name) : null],
    ['Time from', d.time_source],
    ['Camera', d.camera_serial ? d.camera + ' #' + d.camera_serial : d.camera],
    ['Clock', d.time_basis === 'clock_fix' && d.decisions && d.decisions.length ? d.decisions[0] : null],
  ];
  if (d.source === 'ai') {
    fields.push(['Model', d.model], ['Confidence', d.confidence !== null ? Math.round(d.confidence * 100) + ' %' : null],
      ['Uncertainty', d.radius_km ? '± ' + d.radius_km.toLocaleString() + ' km' : null], ['Description', d.description]);
  } else if ((d.source === 'track' || d.source === 'nearby') && d.radius_km) {
    fields.push(['Uncertainty', '± ' + d.radius_km.toLocaleString() + ' km']);
  }
  const trouble = d.status === 'pending' ? aiTrouble() : null;
  if (waitsForOllama(d)) {
    fields.push(['Waiting', withCode('for the AI: Ollama does not answer (' + d.error.slice(WAITING_FOR_OLLAMA.length) + '). It is asked again by itself.')]);
  } else if (d.status === 'pending') {
    fields.push(['Waiting', trouble ? 'for the AI, which cannot answer now: ' + trouble : 'for the AI']);
  } else if (d.status !== 'located') {
    fields.push(['Reason', d.error ? withCode(d.error) : null]);
  }
  fields.push(['Warning', d.warning]); // what is odd about the file: "truncated: ..."
  if (d.missing_since) fields.push(['Missing', 'its file is no longer at ' + (d.path || d.name) + ' (noticed ' + d.missing_since.slice(0, 10) + '); its record stays']);
  const dl = el('dl', { class: 'fields' });
  for (const [label, value] of fields) {
    if (value === null || value === undefined || value === '') continue;
    dl.append(el('dt', {}, label), el('dd', { dataset: { field: label.toLowerCase() } }, ...(Array.isArray(value) ? value : [value])));
  }
  // A failed file has no thumbnail (thumb_url null): a placeholder, no request for a 404.
  const thumb = !d.has_file ? null : d.thumb_url ? el('img', { class: 'thumb', alt: '', src: d.thumb_url, width: 280 })
    : el('div', { class: 'thumb none', role: 'img', 'aria-label': 'No preview of this file' }, 'No preview');
  if (thumb && d.thumb_url) thumb.addEventListener('error', () => thumb.remove());
  const body = el('div', { class: 'popup', dataset: { id: d.id, status: d.status } },
    d.has_file ? el('a', { href: d.image_url, target: '_blank', rel: 'noopener noreferrer' }, thumb) : null,
    el('h3', { class: 'popup-name' }, d.name),
    dl,
    d.has_file ? el('a', { class: 'full', href: d.image_url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the full image') : null);
  if (d.status !== 'failed' && d.status !== 'duplicate') body.append(actions(d));
  if (d.source === 'copy' && d.status === 'located') body.append(copyChoice(d));
  return body;
}

/** A link to the photo a copy or a duplicate repeats: selects it (its popup, on the map). */
function originalLink(id, name) {
  return el('a', { href: '#', class: 'original', dataset: { original: id }, onclick: (e) => { e.preventDefault(); select(id, true); } },
    name || id);
}

/** A copy is kept beside its original (the default: nothing to do), or filed as a duplicate. */
function copyChoice(d) {
  const message = el('p', { class: 'copy-message', role: 'status' });
  const file = async () => {
    message.textContent = 'Working…';
    let answer;
    try {
      answer = await api.post('/api/images/' + encodeURIComponent(d.id) + '/file-as-duplicate');
    } catch (err) {
      message.textContent = err.message;
      return;
    }
    await applyRows(answer.rows, answer.counts);
    notice(answer.records[0].name + ' is filed as a duplicate of ' + (d.copy_of_name || 'its original') + '.');
    select(d.id, false);
  };
  return el('div', { class: 'fix copy-choice' },
    el('div', { class: 'fix-row' },
      el('button', { type: 'button', class: 'keep-both', 'aria-pressed': 'true', disabled: true, title: 'The default: both stay in the library' }, 'Keep both'),
      el('button', { type: 'button', class: 'file-duplicate', onclick: file }, 'File as duplicate')),
    message);
}

function actions(d) {
  const message = el('p', { class: 'fix-message', role: 'status' });
  const last = d.history && d.history.length ? d.history[d.history.length - 1] : null;
  const button = (cls, label, onclick) => el('button', { type: 'button', class: cls, onclick }, label);
  const act = (path, done) => async () => {
    message.textContent = 'Working…';
    let answer;
    try {
      answer = await api.post('/api/images/' + encodeURIComponent(d.id) + path);
    } catch (err) {
      message.textContent = err.message;
      return;
    }
    await applyRows(answer.rows, answer.counts);
    notice(done(answer.records[0]));
    select(d.id, true);
  };
  return el('div', { class: 'fix' },
    el('div', { class: 'fix-row' },
      button('place', d.status === 'located' ? 'Correct on the map' : 'Place on map', () => startPlacing([d.id], d)),
      last && last.prev !== null && last.prev !== undefined
        ? button('revert', 'Revert', act('/revert', (r) => 'Reverted: ' + r.name + (r.lat !== null ? ' is back at ' + fmtCoord(r.lat, r.lon) + '.'
          : r.status === 'pending' ? ' is waiting for the AI again.' : ' has no location again.')))
        : null),
    el('div', { class: 'fix-row' },
      d.source !== 'exif' && d.status !== 'pending' ? button('ask-ai', 'Ask the AI again', act('/ask-ai', (r) => r.name + ' is waiting for the AI.')) : null,
      waitsForOllama(d) ? button('retry', 'Retry now', act('/retry', (r) => r.name + ' will be asked as soon as Ollama answers.')) : null),
    d.camera && d.taken_at ? el('div', { class: 'fix-row' }, button('clock', 'Fix this camera’s clock', () => startClockFix(d))) : null,
    message);
}
