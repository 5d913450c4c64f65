// Fixing a camera's clock: "Fix this camera's clock" in a photo's popup opens a bar. Click the
// spot where the photo was taken on a track line (the tracks of its days are shown; the server
// takes the nearest track point, whose time is the true time), or type the true time; choose
// that day or a range of days. The server answers what would change: how many of the camera's
// photos move in time, and by how much. Apply makes it (POST /api/clock); nothing changes before.
/* global L */
import * as api from './api.js';
import { el, fmtCoord, notice } from './dom.js';
import { map } from './map.js';
import { stopPlacing } from './place.js';
import { listenForTrackClicks, showTracksAround } from './tracks.js';

let applyRows = async () => {};
let fixing = null; // {detail, bar, message, field, scope, from, to, apply, marker, spot}

const snapIcon = L.divIcon({ className: 'clock-spot', iconSize: [14, 14], iconAnchor: [7, 7] });

let showPhoto = () => {}; // popup.js's select, given by main.js (popup.js imports this module)

/** `apply(rows)` merges rows from the server into the page; `select(id, fly)` opens a photo's
 * popup (see main.js). */
export function initClock(apply, select) {
  showPhoto = select;
  applyRows = apply;
  map.on('click', (e) => { if (fixing) preview({ lat: e.latlng.lat, lon: e.latlng.lng }); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && fixing) stopClockFix(); });
}

const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, '0');

/** The photo's time as the field shows it: its wall clock, with the UTC offset it has if known. */
function shownTime(detail) {
  const wall = (detail.taken_at || '').slice(0, 19).replace('T', ' ');
  if (!detail.taken_utc || wall.length < 19) return wall;
  const minutes = Math.round((Date.parse(wall.replace(' ', 'T') + 'Z') - Date.parse(detail.taken_utc)) / 60000);
  return wall + ' ' + (minutes < 0 ? '-' : '+') + pad(minutes / 60) + ':' + pad(minutes % 60);
}

/** Start fixing the clock of the camera of the photo `detail` (its record from the server). */
export function startClockFix(detail) {
  stopPlacing();
  stopClockFix();
  map.closePopup();
  const day = (detail.taken_at || '').slice(0, 10);
  const field = el('input', { type: 'text', name: 'true-time', value: shownTime(detail), autocomplete: 'off', 'aria-label': 'The true time, with its UTC offset' });
  const form = el('form', { class: 'place-find' }, field, el('button', { type: 'submit' }, 'Preview'));
  const scope = el('select', { name: 'scope', 'aria-label': 'Which photos' },
    el('option', { value: 'day' }, 'its photos of ' + day), el('option', { value: 'range' }, 'its photos from… to…'));
  const from = el('input', { type: 'date', name: 'from', value: day, hidden: true });
  const to = el('input', { type: 'date', name: 'to', value: day, hidden: true });
  const message = el('p', { class: 'place-message', role: 'status' });
  const applyButton = el('button', { type: 'button', class: 'clock-apply', disabled: true, onclick: () => applyFix() }, 'Apply');
  const bar = el('div', { class: 'place-bar clock-bar', role: 'dialog', 'aria-label': 'Fix the clock of ' + (detail.camera || 'this camera') },
    el('p', { class: 'place-title' }, 'When was “' + detail.name + '” taken? Click the spot on a track line, or type the true time. The clock of ' +
      (detail.camera || 'its camera') + ' is corrected for:'),
    el('div', { class: 'clock-scope' }, scope, from, to),
    form,
    message,
    el('div', { class: 'place-buttons' }, applyButton, el('button', { type: 'button', class: 'place-cancel', onclick: () => stopClockFix() }, 'Cancel')));
  scope.addEventListener('change', () => { from.hidden = to.hidden = scope.value !== 'range'; invalidate(); });
  from.addEventListener('change', invalidate);
  to.addEventListener('change', invalidate);
  form.addEventListener('submit', (e) => { e.preventDefault(); preview({ utc: field.value }); });
  L.DomEvent.disableClickPropagation(bar);
  L.DomEvent.disableScrollPropagation(bar);
  map.getContainer().append(bar);
  map.getContainer().classList.add('placing');
  fixing = { detail, bar, message, field, scope, from, to, apply: applyButton, marker: null, spot: null };
  listenForTrackClicks((track, latlng) => preview({ lat: latlng.lat, lon: latlng.lng, track }));
  showTracksAround(day).then((shown) => {
    if (fixing && !fixing.spot) say(shown ? 'Click where the photo was taken on the track, or type the time.' : 'No track was recorded around ' + day + ': type the true time.');
  });
}

export function stopClockFix() {
  if (!fixing) return;
  if (fixing.marker) fixing.marker.remove();
  fixing.bar.remove();
  map.getContainer().classList.remove('placing');
  listenForTrackClicks(null);
  fixing = null;
}

const say = (text) => { if (fixing) fixing.message.textContent = text; };

function invalidate() {
  if (!fixing) return;
  fixing.apply.disabled = true;
  if (fixing.spot) preview(fixing.spot);
}

function request(spot) {
  const body = { id: fixing.detail.id, ...spot, scope: fixing.scope.value };
  if (body.scope === 'range') Object.assign(body, { from: fixing.from.value, to: fixing.to.value });
  return body;
}

async function preview(spot) {
  if (!fixing) return;
  fixing.spot = spot;
  fixing.apply.disabled = true;
  say('Looking…');
  let answer;
  try {
    answer = await api.post('/api/clock', request(spot));
  } catch (err) {
    say(err.message);
    return;
  }
  if (!fixing || fixing.spot !== spot) return; // another spot was chosen meanwhile
  const { plan, sync } = answer;
  if (fixing.marker) fixing.marker.remove();
  fixing.marker = null;
  let where = '';
  if (sync.point) {
    fixing.marker = L.marker([sync.point.lat, sync.point.lon], { icon: snapIcon, keyboard: false, interactive: false }).addTo(map);
    where = 'Track point at ' + sync.point.utc.slice(11, 19) + ' UTC (' + fmtCoord(sync.point.lat, sync.point.lon) + ', ' + Math.round(sync.point.distance_m) + ' m from your click). ';
  }
  fixing.bar.dataset.moved = plan.moved;
  say(where + 'The camera’s clock: ' + plan.clock + '. ' + plan.message + ' Apply?');
  fixing.apply.disabled = false;
}

async function applyFix() {
  if (!fixing || !fixing.spot) return;
  const { detail } = fixing;
  fixing.apply.disabled = true;
  say('Applying…');
  let answer;
  try {
    answer = await api.post('/api/clock', { ...request(fixing.spot), apply: true });
  } catch (err) {
    say(err.message);
    fixing.apply.disabled = false;
    return;
  }
  stopClockFix();
  await applyRows(answer.rows);
  notice('Clock fixed: ' + answer.plan.message);
  showPhoto(detail.id, true);
}
