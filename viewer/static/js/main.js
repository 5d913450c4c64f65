// geolocator map page: loads the rows, keeps them current, and wires the parts together.
//   api.js     every request to the server
//   map.js     the Leaflet map; clusters drawn from cluster-worker.js (supercluster in a Web Worker)
//   payload.js the whole library's map rows, decoded from /api/map.bin
//   list.js    the virtual list, tabs, counts
//   popup.js   selection, popups and what can be done from them (revert, ask the AI again, retry)
//   place.js   placing photos by hand (pin, Save/Cancel, one field), several at once
//   upload.js  photos sent from this computer, followed until filed; locate without keeping
//   browser.js the photo browser: panel of photos in view, timeline, search, photo viewer, phone sheet
//   filters.js, state.js, dom.js   shared pieces
import * as api from './api.js';
import { initBrowser } from './browser.js';
import { notice } from './dom.js';
import { onFilterChange } from './filters.js';
import { initList, refreshList, showCounts } from './list.js';
import { fitOnce, map, photoLayer, refilter, setRows } from './map.js';
import { decodePayload } from './payload.js';
import { initPlace } from './place.js';
import { initPopup, select } from './popup.js';
import { state } from './state.js';
import { initUpload } from './upload.js';
import { initTracks } from './tracks.js';

const POLL_MS = 4000;

/** Merge map rows from the server (all of them when `data.full`) into the page; resolves once
 * the map shows them. */
async function apply(data) {
  const drawn = setRows(data.rows, data.full);
  if (data.instance !== undefined) { state.instance = data.instance; state.seq = data.seq; }
  showCounts(data.counts);
  refreshList();
  await drawn;
}

async function load() {
  performance.mark('geolocator:fetch');
  const data = decodePayload(await api.fetchPayload());
  performance.mark('geolocator:data');
  fitOnce(data.rows);
  await apply(data);
  performance.mark('geolocator:ready');
  document.body.dataset.ready = 'true';
  setTimeout(poll, POLL_MS);
}

async function poll() {
  try {
    const data = await api.fetchMap(state.seq, state.instance);
    if (data.full || data.rows.length) {
      fitOnce(data.rows);
      await apply(data);
    }
  } catch (err) {
    // the daemon is restarting or gone: keep trying quietly
  }
  setTimeout(poll, POLL_MS);
}

initList((id) => select(id, true));
initBrowser();
initPopup((rows) => apply({ full: false, rows, counts: null }));
initPlace((rows) => apply({ full: false, rows, counts: null }));
initUpload();
initTracks();
photoLayer.on('click', (e) => select(e.layer.photoId, false));
onFilterChange(() => { refilter(); refreshList(); });

window.geolocator = { map, photoLayer, state, select }; // for debugging from the console (and the tests)
load().catch((err) => notice('Could not load the photos: ' + err.message, true));
