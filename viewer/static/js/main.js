// geolocator map page: loads the rows, keeps them current, and wires the parts together.
//   api.js     every request to the server
//   map.js     the Leaflet map; clusters drawn from cluster-worker.js (supercluster in a Web Worker)
//   payload.js the whole library's points and map rows, from /api/map.bin
//   list.js    the virtual list, tabs, counts
//   popup.js   selection, popups and what can be done from them (revert, ask the AI again, retry)
//   place.js   placing photos by hand (pin, Save/Cancel, one field), several at once
//   clock.js   fixing a camera's clock: a spot on a track or a time typed, previewed, then applied
//   tracks.js  GPS tracks as lines
//   upload.js  photos sent from this computer, followed until filed; locate without keeping
//   ai.js      what the AI is doing, in the header; "Retry all now"
//   browser.js the photo browser: panel of photos in view, timeline, search, photo viewer, phone sheet
//   filters.js, state.js, dom.js   shared pieces
import { initAI, refreshAI } from './ai.js';
import * as api from './api.js';
import { initBrowser } from './browser.js';
import { initClock } from './clock.js';
import { notice } from './dom.js';
import { onFilterChange } from './filters.js';
import { forgetBriefs, initList, refreshList, showCounts } from './list.js';
import { drawn, fitOnce, loadPoints, map, photoLayer, refilter, setAllRows, setRows } from './map.js';
import { receivePayload } from './payload.js';
import { initPlace } from './place.js';
import { initPopup, select } from './popup.js';
import { C, state } from './state.js';
import { initUpload } from './upload.js';
import { initTracks } from './tracks.js';

const POLL_MS = 4000;
const FIRST_DRAW_WAIT_MS = 2000;

/** Merge map rows from the server (all of them when `data.full`) into the page; resolves once
 * the map shows them. */
async function apply(data) {
  if (data.full) {
    await setAllRows(data.rows);
    state.unsorted.clear();
  } else {
    setRows(data.rows);
    for (const row of data.rows) state.unsorted.add(row[C.id]);
  }
  forgetBriefs(data.full ? null : data.rows.map((row) => row[C.id])); // a changed photo's place, or whose copy it is
  const shown = drawn();
  if (data.instance !== undefined) { state.instance = data.instance; state.seq = data.seq; }
  showCounts(data.counts);
  if (data.full) await shown; // the map first: at a million photos the list takes a while
  refreshList();
  await shown;
}

// The map clusters the payload's points as soon as they are in, while the rest comes; the rows
// (for the list, the timeline, popups) are made after, in slices between which the page answers clicks.
async function load() {
  performance.mark('geolocator:fetch');
  const payload = await receivePayload(await api.fetchPayload(), (early) => {
    performance.mark('geolocator:points');
    loadPoints(early.points());
    showCounts(early.header.counts);
  });
  performance.mark('geolocator:data');
  const { instance, seq, counts } = payload.header;
  // The first clusters before the rows: on two cores the index is built sooner alone.
  await Promise.race([drawn(), new Promise((resolve) => setTimeout(resolve, FIRST_DRAW_WAIT_MS))]);
  const rows = await payload.rows();
  performance.mark('geolocator:rows');
  await apply({ instance, seq, counts, full: true, rows });
  // The payload is made ahead (after changes, in the background) and may be a few photos behind:
  // those come at once, not at the first poll.
  await update().catch(() => {}); // the daemon is restarting or gone: the polls will catch up
  await refreshAI();
  performance.mark('geolocator:ready');
  document.body.dataset.ready = 'true';
  setTimeout(poll, POLL_MS);
}

/** Show the rows changed since the page's seq (all of them if the store was reopened). */
async function update() {
  const data = await api.fetchMap(state.seq, state.instance);
  if (data.full || data.rows.length) {
    fitOnce(data.rows);
    await apply(data);
  }
}

async function poll() {
  try {
    await update();
  } catch (err) {
    // the daemon is restarting or gone: keep trying quietly
  }
  await refreshAI();
  setTimeout(poll, POLL_MS);
}

/** Rows and counts from the answer to something the person did: shown at once, not at the next poll. */
const applyAnswer = (rows, counts) => apply({ full: false, rows, counts });

// The map with its world outline is on the page by now (map.js): let the browser paint it before
// the rest of the page is set up.
await new Promise((resolve) => { requestAnimationFrame(() => setTimeout(resolve)); });

initList((id) => select(id, true));
initBrowser();
initPopup(applyAnswer);
initPlace(applyAnswer, select);
initAI(applyAnswer);
initClock(applyAnswer, select);
initUpload(update);
initTracks();
photoLayer.on('click', (e) => select(e.layer.photoId, false));
onFilterChange(() => { refilter(); refreshList(); });

window.geolocator = { map, photoLayer, state, select }; // for debugging from the console (and the tests)
load().catch((err) => notice('Could not load the photos: ' + err.message, true));
