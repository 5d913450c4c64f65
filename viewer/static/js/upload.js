// Photos from this computer: dropped anywhere on the page or picked with "Add photos", each sent
// alone (POST /api/upload, its progress shown), then followed until it is filed: the map flies to
// it with its popup open (an AI estimate shows its description, confidence and circle; a photo
// waiting for Ollama shows as waiting, and is followed until it is placed).
// "Where was this taken?" asks without keeping anything (POST /api/locate): the answer is a card
// in the same panel and a temporary marker, with "Add to library" to upload the photo after all.
// Every line of the panel (an upload, an answer) stays until its × dismisses it: none replaces another.
/* global L */
import * as api from './api.js';
import { el, fmtCoord, withCode } from './dom.js';
import { map } from './map.js';
import { select } from './popup.js';
import { C, SOURCE_LABEL, TOKEN, state } from './state.js';
import { fmtTaken } from './when.js';

const AT_ONCE = 2; // uploads sent at the same time
const FOLLOW_MS = 500; // how often a photo being filed is looked at
const WAITING_MS = 5000; // and one waiting for the AI
const FOLLOW_FOR_MS = 30 * 60 * 1000;

const queue = [];
let sending = 0;
let panel = null;
let catchUp = async () => {}; // brings the map's rows up to date with the server

/** `refresh` fetches the rows changed since the page's last look: a photo filed is shown then,
 * not at the map's next poll. */
export function initUpload(refresh) {
  catchUp = refresh;
  const pick = el('input', { type: 'file', multiple: true, hidden: true, id: 'upload-input' });
  pick.addEventListener('change', () => { addFiles(pick.files); pick.value = ''; });
  const ask = el('input', { type: 'file', hidden: true, id: 'locate-input' });
  ask.addEventListener('change', () => { if (ask.files[0]) locateOnly(ask.files[0]); ask.value = ''; });
  const Control = L.Control.extend({
    onAdd() {
      const box = el('div', { class: 'leaflet-bar upload-control' },
        el('button', { type: 'button', class: 'upload-add', title: 'Add photos to the library (or drop them on the page)', onclick: () => pick.click() }, 'Add photos'),
        el('button', { type: 'button', class: 'upload-locate', title: 'Where was a photo taken? Nothing is kept', onclick: () => ask.click() }, 'Where was this taken?'),
        pick, ask);
      L.DomEvent.disableClickPropagation(box);
      return box;
    },
  });
  new Control({ position: 'topright' }).addTo(map);
  panel = el('ul', { id: 'uploads', hidden: true, 'aria-live': 'polite' });
  map.getContainer().append(panel);
  L.DomEvent.disableClickPropagation(panel);

  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  document.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    document.body.classList.add('dropping');
  });
  document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('dropping'); });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    document.body.classList.remove('dropping');
    addFiles(e.dataTransfer.files);
  });
}

/** Queue files for upload, each with its line in the panel. */
export function addFiles(files) {
  for (const file of files) {
    const bar = el('progress', { max: 1, value: 0 });
    const status = el('span', { class: 'upload-status' }, 'waiting to be sent');
    const item = el('li', { class: 'upload', dataset: { state: 'queued' } }, el('span', { class: 'upload-name' }, file.name), bar, status);
    panel.append(item);
    panel.hidden = false;
    queue.push({ file, item, bar, status });
  }
  sendNext();
}

function sendNext() {
  while (sending < AT_ONCE && queue.length) {
    const job = queue.shift();
    sending += 1;
    send(job).finally(() => { sending -= 1; sendNext(); });
  }
}

function show(job, stateName, text) {
  job.item.dataset.state = stateName;
  job.status.replaceChildren(...withCode(text));
  if (stateName !== 'queued' && stateName !== 'sending' && !job.item.querySelector('.result-close')) {
    dismissable(job.item, () => { job.dismissed = true; });
  }
}

/** POST one file with XMLHttpRequest (fetch reports no upload progress). */
function post(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('X-Geolocator-Token', TOKEN);
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => resolve(xhr));
    xhr.addEventListener('error', () => reject(new Error('could not reach geolocator (or the file is larger than it accepts)')));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

function problem(xhr) {
  let message = '';
  try { message = JSON.parse(xhr.responseText).error; } catch (err) { message = ''; }
  if (xhr.status === 413) return 'too large: ' + (message || 'over the upload limit');
  if (xhr.status === 401) return 'you are logged out: reload the page';
  if (xhr.status === 403) return 'geolocator was restarted: reload the page';
  return message || xhr.statusText || 'failed';
}

async function send(job) {
  show(job, 'sending', 'sending…');
  let xhr;
  try {
    xhr = await post('/api/upload', job.file, (part) => { job.bar.value = part; });
  } catch (err) {
    show(job, 'error', err.message);
    return;
  }
  if (xhr.status !== 200) {
    show(job, 'error', 'not sent: ' + problem(xhr));
    return;
  }
  const [sent] = JSON.parse(xhr.responseText).files;
  job.bar.value = 1;
  if (sent.error) {
    show(job, 'error', sent.error);
    return;
  }
  job.item.dataset.id = sent.id;
  show(job, 'filing', sent.known ? 'already in the library' : 'sent: being filed…');
  follow(job, sent.id);
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Look at the photo until it is filed, then fly to it; while it waits for the AI, keep looking. */
async function follow(job, id) {
  const until = Date.now() + FOLLOW_FOR_MS;
  let shown = null; // the status the map was last brought to
  let said = null; // and the reason it gave for it (a pending photo's: why it waits)
  while (Date.now() < until) {
    let record = null;
    try {
      record = await api.fetchRecord(id);
    } catch (err) {
      record = null; // not recorded yet (or the server is restarting)
    }
    let row = state.rows.get(id);
    if (record && !record.moving_from && (!row || row[C.status] !== record.status)) {
      try { await catchUp(); } catch (err) { /* the server is restarting: the next look tries again */ }
      row = state.rows.get(id);
    }
    if (record && row && row[C.status] === record.status && !record.moving_from) {
      if (record.status !== shown) {
        shown = record.status;
        said = record.error;
        describe(job, record);
        if (!state.placing && !job.dismissed) select(id, true); // not while the person places a photo by hand
      } else if (record.error !== said) {
        // Still waiting, for another reason (Ollama went away or came back): its open popup says so.
        said = record.error;
        if (!state.placing && state.selected === id) select(id, false);
      }
      if (record.status !== 'pending') return;
    }
    await sleep(record && record.status === 'pending' ? WAITING_MS : FOLLOW_MS);
  }
}

function describe(job, record) {
  switch (record.status) {
    case 'located':
      show(job, 'done', 'on the map' + (record.place ? ': ' + record.place : ''));
      break;
    case 'pending':
      show(job, 'waiting', 'filed; waiting for the AI');
      break;
    case 'unlocated':
      show(job, 'done', 'filed, place unknown: place it on the map');
      break;
    default:
      show(job, 'error', record.status + ': ' + (record.error || ''));
  }
}

/** A line of the panel: its × takes it away (with what it shows on the map: `onDismiss`). */
function dismissable(item, onDismiss) {
  const close = el('button', { type: 'button', class: 'result-close', title: 'Dismiss', 'aria-label': 'Dismiss' }, '×');
  close.addEventListener('click', () => {
    item.remove();
    if (onDismiss) onDismiss();
    panel.hidden = !panel.children.length;
  });
  item.prepend(close);
}

/** Ask where a photo was taken, keeping nothing. The answer stays in the panel, with its own
 * temporary marker, until dismissed: another answer, an upload or a popup never replaces it. */
async function locateOnly(file) {
  const status = el('span', { class: 'upload-status' }, 'looking…');
  const item = el('li', { class: 'locate-result', dataset: { state: 'looking' } }, el('span', { class: 'upload-name' }, file.name), status);
  panel.append(item);
  panel.hidden = false;
  let layer = null;
  dismissable(item, () => { if (layer) layer.remove(); });
  let xhr;
  try {
    xhr = await post('/api/locate', file, () => {});
  } catch (err) {
    item.dataset.state = 'error';
    status.textContent = err.message;
    return;
  }
  if (xhr.status !== 200) {
    item.dataset.state = 'error';
    status.textContent = 'Not located: ' + problem(xhr);
    return;
  }
  if (!item.isConnected) return; // dismissed while it was being looked at
  const answer = JSON.parse(xhr.responseText.split('\n')[0]);
  const located = answer.lat !== null && answer.lon !== null;
  const fields = el('dl', { class: 'fields' });
  const rows = [['Place', answer.place], ['Coordinates', located ? fmtCoord(answer.lat, answer.lon) : null],
    ['Source', answer.source ? SOURCE_LABEL[answer.source] || answer.source : null], ['Taken', answer.taken_at ? fmtTaken(answer.taken_at) : null],
    ['Camera', answer.camera], ['Confidence', answer.confidence !== undefined && answer.confidence !== null ? Math.round(answer.confidence * 100) + ' %' : null],
    ['Description', answer.description], ['Problem', answer.error ? withCode(answer.error) : null]];
  for (const [label, value] of rows) {
    if (value !== null && value !== undefined) fields.append(el('dt', {}, label), el('dd', { dataset: { field: label.toLowerCase() } }, ...[value].flat()));
  }
  if (located) {
    layer = L.layerGroup().addTo(map);
    if (answer.radius_km) L.circle([answer.lat, answer.lon], { radius: answer.radius_km * 1000, color: '#d9480f', weight: 1.5, dashArray: '6 4', fillOpacity: 0.08, interactive: false }).addTo(layer);
    L.marker([answer.lat, answer.lon], { icon: L.divIcon({ className: 'photo-marker temporary', iconSize: [16, 16] }), title: answer.file + ' (not kept)', keyboard: false }).addTo(layer);
  }
  const show = () => map.setView([answer.lat, answer.lon], Math.max(map.getZoom(), 10), { animate: false });
  const add = el('button', { type: 'button', class: 'locate-add' }, 'Add to library');
  add.addEventListener('click', () => { if (layer) layer.remove(); item.remove(); addFiles([file]); });
  item.dataset.state = located ? 'located' : 'unlocated';
  status.replaceChildren(located ? 'Where it was taken (nothing was kept):' : 'No location found (nothing was kept).');
  item.append(fields, el('div', { class: 'locate-buttons' },
    located ? el('button', { type: 'button', class: 'locate-show', onclick: show }, 'Show on map') : null, add));
  if (located) show();
}
