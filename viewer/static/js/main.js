// geolocator map page: loads the rows, keeps them current, and wires the parts together.
//   api.js     every request to the server
//   map.js     the Leaflet map, clusters, overview
//   list.js    the virtual list, tabs, counts
//   popup.js   selection, popups, editing a location
//   browser.js the photo browser: panel of photos in view, timeline, search, photo viewer, phone sheet
//   filters.js, state.js, dom.js   shared pieces
import * as api from './api.js';
import { initBrowser } from './browser.js';
import { notice } from './dom.js';
import { onFilterChange } from './filters.js';
import { initList, refreshList, showCounts } from './list.js';
import { cluster, fitOnce, map, markerFor, paintOverview, syncMarkers } from './map.js';
import { initPopup, select } from './popup.js';
import { C, state } from './state.js';
import { initTracks } from './tracks.js';

const POLL_MS = 4000;

/** Merge map rows from the server (all of them when `data.full`) into the page. */
function apply(data) {
  if (data.full) {
    cluster.clearLayers();
    state.rows.clear(); state.markers.clear(); state.onMap.clear();
  }
  for (const row of data.rows) {
    const id = row[C.id];
    if (state.onMap.has(id)) { cluster.removeLayer(state.markers.get(id)); state.onMap.delete(id); }
    state.markers.delete(id);
    state.rows.set(id, row);
    if (row[C.status] === 'located' && row[C.lat] !== null) state.markers.set(id, markerFor(row));
  }
  if (data.full) performance.mark('geolocator:markers');
  if (data.instance !== undefined) { state.instance = data.instance; state.seq = data.seq; }
  showCounts(data.counts);
  return new Promise((resolve) => syncMarkers(() => { refreshList(); resolve(); }));
}

async function load() {
  performance.mark('geolocator:fetch');
  const data = await api.fetchMap();
  performance.mark('geolocator:data');
  fitOnce(data.rows);
  const overview = data.rows.length > 2000 ? paintOverview(data.rows) : null;
  performance.mark('geolocator:overview');
  if (overview) await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve))); // let it paint
  await apply(data);
  if (overview) overview.remove();
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
initTracks();
initPopup((rows) => apply({ full: false, rows, counts: null }));
cluster.on('click', (e) => select(e.layer.photoId, false));
onFilterChange(() => syncMarkers(refreshList));

window.geolocator = { map, cluster, state, select }; // for debugging from the console (and the tests)
load().catch((err) => notice('Could not load the photos: ' + err.message, true));
