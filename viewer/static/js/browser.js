// The photo browser around the map: the photos-in-view panel follows the map, the timeline,
// place search, the photo viewer, the notice kept clear of popups, and on phones the side
// panel as a bottom sheet that can be pulled up.
import { sheetCover } from './dom.js';
import { onFilterChange } from './filters.js';
import { onView, refreshList } from './list.js';
import { map, viewDrawn } from './map.js';
import { initViewer, openViewer } from './photoviewer.js';
import { initSearch } from './search.js';
import { state } from './state.js';
import { initTimeline, refreshTimeline } from './timeline.js';

const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** Keep the notice clear of the map's controls (zoom, "Add photos": it goes below them), and of
 * an open popup (it docks at the bottom of the map, above the phone's sheet). */
function placeNotice() {
  const box = document.getElementById('notice');
  box.classList.remove('bottom');
  box.style.top = '';
  box.style.bottom = '';
  if (box.hidden) return;
  const area = box.parentElement.getBoundingClientRect();
  const controls = [...document.querySelectorAll('.leaflet-top .leaflet-control')].map((c) => c.getBoundingClientRect());
  for (let i = 0; i < controls.length; i++) { // each move down may meet a longer control
    const under = controls.filter((c) => overlaps(box.getBoundingClientRect(), c));
    if (!under.length) break;
    box.style.top = Math.max(...under.map((c) => c.bottom)) - area.top + 8 + 'px';
  }
  const popup = document.querySelector('.leaflet-popup');
  if (!popup || !overlaps(box.getBoundingClientRect(), popup.getBoundingClientRect())) return;
  box.classList.add('bottom');
  box.style.top = '';
  const sheet = document.getElementById('side').getBoundingClientRect();
  if (overlaps(box.getBoundingClientRect(), sheet)) box.style.bottom = area.bottom - sheet.top + 8 + 'px';
}

const SHEET = { peek: 0.2, half: 0.5, full: 0.88 }; // of the window's height

/** Phones: the side panel is a sheet over the map; drag (or tap) its handle to pull it up. How
 * much of the map it covers is kept in the CSS variable --sheet-cover (what sits on the map above it). */
function initSheet() {
  const side = document.getElementById('side');
  const handle = document.getElementById('sheet-handle');
  const phone = window.matchMedia('(max-width: 700px)');
  const set = (name) => {
    document.body.dataset.sheet = name;
    side.style.height = phone.matches ? Math.round(SHEET[name] * window.innerHeight) + 'px' : '';
  };
  new ResizeObserver(() => document.body.style.setProperty('--sheet-cover', sheetCover() + 'px')).observe(side);
  let drag = null;
  let dragged = false; // the last press moved the sheet: its click is no tap
  handle.addEventListener('pointerdown', (e) => {
    handle.setPointerCapture(e.pointerId);
    drag = { y: e.clientY, height: side.getBoundingClientRect().height, moved: false };
    dragged = false;
  });
  handle.addEventListener('pointermove', (e) => {
    if (!drag) return;
    drag.moved = drag.moved || Math.abs(e.clientY - drag.y) > 4;
    if (drag.moved) side.style.height = Math.max(80, Math.min(window.innerHeight * 0.95, drag.height + drag.y - e.clientY)) + 'px';
  });
  handle.addEventListener('pointerup', () => {
    if (!drag) return;
    dragged = drag.moved;
    drag = null;
    if (!dragged) return; // a tap: the click that follows pulls the sheet (after it, so it lands on the handle)
    const share = side.getBoundingClientRect().height / window.innerHeight;
    const nearest = Object.entries(SHEET).sort((a, b) => Math.abs(a[1] - share) - Math.abs(b[1] - share))[0][0];
    set(nearest);
  });
  // A tap (or Enter on the handle) goes one step up, from full back down to peek. Changing the
  // height at pointerup would move the page under the finger before the tap's click arrives, and
  // the click would land on whatever came there (a tab, a row).
  handle.addEventListener('click', () => {
    if (dragged) { dragged = false; return; }
    const now = document.body.dataset.sheet;
    set(now === 'peek' ? 'half' : now === 'half' ? 'full' : 'peek');
  });
  phone.addEventListener('change', () => set(document.body.dataset.sheet || 'peek'));
  window.addEventListener('resize', () => set(document.body.dataset.sheet || 'peek'));
  set('peek');
}

export function initBrowser() {
  initTimeline();
  initSearch();
  initViewer();
  initSheet();
  onView(openViewer);
  onFilterChange(refreshTimeline);
  // The panel follows the map once the map is drawn: at a million photos the map answers first.
  let due = false;
  map.on('moveend', () => {
    if (state.tab !== 'photos' || due) return;
    due = true;
    viewDrawn(300).then(() => { due = false; if (state.tab === 'photos') refreshList(); });
  });
  map.on('popupopen moveend zoomend popupclose', () => requestAnimationFrame(placeNotice));
  window.addEventListener('resize', () => requestAnimationFrame(placeNotice));
  new MutationObserver(() => requestAnimationFrame(placeNotice)).observe(document.getElementById('notice'),
    { attributeFilter: ['hidden'], childList: true, characterData: true, subtree: true }); // not its own moves
}
