// The photo viewer: one photo full size, previous/next through the list's current rows (the
// photos in view, or the tab shown). Browser-native images are shown as they are; HEIC, AVIF,
// TIFF and raw files as the JPEG preview the server makes; videos are played where the browser
// can (the server answers Range requests).
import * as api from './api.js';
import { el } from './dom.js';
import { currentItems } from './list.js';
import { C, state } from './state.js';
import { fmtTaken } from './when.js';

const VIDEO = /\.(mp4|m4v|mov)$/i;
const box = document.getElementById('photoviewer');
const stage = box.querySelector('.pv-stage');
const caption = box.querySelector('.pv-caption');
const position = box.querySelector('.pv-position');
const prevButton = box.querySelector('.pv-prev');
const nextButton = box.querySelector('.pv-next');

let ids = [];
let at = -1;
let returnFocus = null;

const url = (kind, id) => '/' + kind + '/' + encodeURIComponent(id);

function media(id, name) {
  const row = state.rows.get(id);
  if (row && row[C.status] === 'failed') return cannot('No preview of this file.', id); // not a picture we can show
  if (VIDEO.test(name)) {
    const video = el('video', { class: 'pv-media', controls: true, preload: 'metadata', src: url('image', id) });
    video.addEventListener('error', () => video.replaceWith(cannot('This browser cannot play this video.', id)));
    return video;
  }
  const img = el('img', { class: 'pv-media', alt: name, decoding: 'async', src: url('preview', id) });
  img.addEventListener('load', () => { box.dataset.loaded = id; });
  img.addEventListener('error', () => img.replaceWith(cannot('No preview of this file.', id)));
  return img;
}

const cannot = (text, id) => el('p', { class: 'pv-cannot' }, text + ' ', el('a', { href: url('image', id), download: '' }, 'Download the original'));

async function show(i) {
  at = i;
  const id = ids[at];
  const row = state.rows.get(id);
  const name = row ? row[C.name] : '';
  delete box.dataset.loaded;
  box.dataset.id = id;
  stage.replaceChildren(media(id, name));
  caption.replaceChildren(el('strong', { class: 'pv-name' }, name));
  position.textContent = ids.length > 1 ? (at + 1).toLocaleString() + ' / ' + ids.length.toLocaleString() : '';
  prevButton.disabled = at <= 0;
  nextButton.disabled = at >= ids.length - 1;
  const next = ids[at + 1];
  if (next && !VIDEO.test((state.rows.get(next) || [])[C.name] || '')) new Image().src = url('preview', next); // ready for "next"
  try {
    const d = await api.fetchRecord(id);
    if (ids[at] !== id) return;
    const taken = d.taken_at ? fmtTaken(d.taken_at) + (row && row[C.clock] ? ' (camera clock?)' : '') : 'undated';
    caption.append(...[d.place, taken, d.camera].filter(Boolean).map((t) => el('span', {}, t)),
      el('a', { href: url('image', id), target: '_blank', rel: 'noopener noreferrer' }, 'Original'));
  } catch (err) {
    // the caption keeps the name
  }
}

/** Open on photo `id`, stepping through the list's current rows (or just this photo). */
export function openViewer(id) {
  ids = currentItems().map((r) => r[C.id]);
  if (!ids.includes(id)) ids = [id];
  returnFocus = document.activeElement;
  box.hidden = false;
  document.body.classList.add('viewing');
  show(ids.indexOf(id));
  box.querySelector('.pv-close').focus();
}

function close() {
  box.hidden = true;
  document.body.classList.remove('viewing');
  stage.replaceChildren(); // stops a video
  if (returnFocus && returnFocus.focus) returnFocus.focus();
}

export function initViewer() {
  prevButton.addEventListener('click', () => { if (at > 0) show(at - 1); });
  nextButton.addEventListener('click', () => { if (at < ids.length - 1) show(at + 1); });
  box.querySelector('.pv-close').addEventListener('click', close);
  box.addEventListener('click', (e) => { if (e.target === box || e.target === stage) close(); });
  document.addEventListener('keydown', (e) => {
    if (box.hidden) return;
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowLeft' && at > 0) show(at - 1);
    else if (e.key === 'ArrowRight' && at < ids.length - 1) show(at + 1);
  });
  // The popup's photo and "Open the full image" open the viewer instead of a new tab.
  document.addEventListener('click', (e) => {
    const link = e.target.closest('.popup a[href^="/image/"]');
    if (!link || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    openViewer(link.closest('.popup').dataset.id);
  });
}
