// The Leaflet map: tiles with the built-in basemap under them (basemap.js), the photos as clusters, framing,
// and revealing one photo.
//
// The photos are clustered by supercluster in a Web Worker (cluster-worker.js): the page numbers
// every row (its slot k), sends the worker the coordinates of the located ones and which pass the
// filters, and on each moveend asks it what to draw in the view. Only that is on the map: a few
// hundred markers whatever the size of the library. Clusters are real from the first paint: a click
// zooms to where the cluster splits.
//
// The full index (down to zoom 18) costs a pass over every point per zoom level: seconds at 1M
// photos. So a large library also goes to a second worker that indexes only down to COARSE_ZOOM,
// in a fraction of that time: it answers the views and clicks up to that zoom until the full
// index has the same points. Closer views wait for the full index, which is started once the
// coarse one is built and the rows are made (loadPoints gives the points before the rows).
/* global L */
import { addBasemap } from './basemap.js';
import { el, notice } from './dom.js';
import { slicer, urgently } from './payload.js';
import { currentFilter, passes } from './filters.js';
import { C, TILE_ATTRIBUTION, TILE_URL, state } from './state.js';

const START = document.getElementById('map').dataset.view.split(',').map(Number); // lat, lon, zoom: as sketch.js drew it
export const map = L.map('map', { worldCopyJump: true, minZoom: 1, maxZoom: 19 }).setView([START[0], START[1]], START[2]);

addBasemap(map); // under the tiles: the map when they do not load, or when there are none

if (TILE_URL) {
  let failedTiles = 0;
  // The page sends no Referer anywhere, but a tile server may require one (OpenStreetMap's policy):
  // its tiles alone get the page's origin, never the path.
  const tiles = L.tileLayer(TILE_URL, { attribution: TILE_ATTRIBUTION, maxZoom: 19, referrerPolicy: 'strict-origin-when-cross-origin' });
  tiles.on('tileerror', () => {
    failedTiles += 1;
    if (failedTiles === 1) {
      document.body.dataset.tiles = 'failed';
      notice('Map tiles cannot be loaded: showing the built-in map.');
    }
  });
  tiles.on('tileload', () => { document.body.dataset.tiles = 'ok'; });
  tiles.addTo(map);
}
map.attributionControl.addAttribution('Built-in map: GSHHG, Natural Earth, GeoNames; roads © OpenStreetMap contributors');

const SOURCES = ['exif', 'ai', 'manual', 'track', 'nearby', 'copy'];
const ICONS = {};
for (const source of [...SOURCES, 'none']) {
  ICONS[source] = L.divIcon({ className: 'photo-marker ' + source, iconSize: [14, 14], iconAnchor: [7, 7], popupAnchor: [0, -6] });
}
const CLOSE_ZOOM = 12; // selecting a photo while far out (below FAR_OUT) comes this close
const FAR_OUT = 6;
const VIEW_PAD = 0.25; // draw a quarter of a screen around the view: a short pan shows no gap

export const clusterLayer = L.featureGroup().addTo(map);
export const photoLayer = L.featureGroup().addTo(map); // photos drawn alone: their clicks select them

const COARSE_ZOOM = 7;
const COARSE_FROM = 50000; // located photos: below this the full index is quick enough alone
const FULL_ZOOM = 18;

/** One cluster worker (booted by early.js if it could) and the version of the points it indexed last. */
function startWorker(name) {
  const booted = window.geolocatorEarlyWorkers && window.geolocatorEarlyWorkers[name];
  if (booted) delete window.geolocatorEarlyWorkers[name];
  const w = { name, worker: booted || new Worker('/static/js/cluster-worker.js', { name }), version: 0 };
  w.worker.onmessage = ({ data }) => {
    if (data.type === 'built') {
      w.version = data.version;
      performance.mark('geolocator:indexed', { detail: { worker: name, points: data.points, ms: data.ms } });
      if (w === coarse && data.version >= heldUntil) { coarseReady = true; release(); }
      refresh();
      return;
    }
    const resolve = replies.get(data.id);
    replies.delete(data.id);
    if (resolve) resolve(data);
  };
  w.worker.onerror = (e) => notice('The map cannot cluster the photos: ' + (e.message || 'worker failed'), true);
  return w;
}
const replies = new Map(); // request id -> resolve
let nextRequest = 1;
const detailed = startWorker('full');
const coarse = startWorker('coarse'); // started at once, ready when the points come
let useCoarse = false; // for a large library
// Messages for the full index wait while the coarse one is built and the rows are made: on two
// cores, the first clusters come sooner, and answer clicks sooner, when the three do not share them.
let held = null;
let coarseReady = false;
let rowsPending = false; // loadPoints sent points whose rows setAllRows has not taken yet
let version = 0; // of the points sent to the workers
let build = 0; // of the index the drawn clusters come from
let rowList = []; // slot k -> row
const slots = new Map(); // id -> k
let pinned = null; // the marker of the photo just revealed: drawn even inside a cluster
let early = null; // {n, on}: the points loadPoints sent, before the rows came
let heldUntil = 0; // the version the coarse index must reach before the full one is sent anything
let filters = 0; // changes of the filters (refilter calls)
const CHECK = 2000; // rows taken between two looks at the clock

function toDetailed(message, transfer = []) {
  if (held) held.push([message, transfer]);
  else detailed.worker.postMessage(message, transfer);
}

function release() {
  if (!coarseReady || rowsPending) return;
  const waiting = held || [];
  held = null;
  for (const [message, transfer] of waiting) detailed.worker.postMessage(message, transfer);
}

function ask(w, message) {
  return new Promise((resolve) => {
    const id = nextRequest++;
    replies.set(id, resolve);
    if (w === detailed) toDetailed({ ...message, id });
    else w.worker.postMessage({ ...message, id });
  });
}

/** Which worker answers for a zoom: the coarse one, while the full one has not indexed the latest points. */
const workerFor = (zoom) => (useCoarse && zoom <= COARSE_ZOOM && detailed.version < version ? coarse : detailed);

/** Send points to the workers (`transfer`ed to the full one, copied to the coarse one). */
function post(message, transfer) {
  if (useCoarse) coarse.worker.postMessage(message);
  toDetailed(message, transfer);
}

export function markerFor(row) {
  const marker = L.marker([row[C.lat], row[C.lon]], { icon: ICONS[row[C.source]] || ICONS.none, keyboard: false });
  marker.photoId = row[C.id];
  return marker;
}

/** id -> L.Marker of a photo on the map: the drawn ones, and any asked for (made on demand, e.g.
 * to reveal it). Markers neither drawn nor in use are dropped at the next draw. */
class Markers extends Map {
  get(id) {
    let marker = super.get(id);
    if (!marker && state.onMap.has(id)) {
      marker = markerFor(state.rows.get(id));
      this.set(id, marker);
    }
    return marker;
  }
}
state.markers = new Markers();

// -- the rows and what the worker indexes --------------------------------------------------------

const shown = (row, f) => row[C.lat] !== null && row[C.lon] !== null && passes(row, f);

function showTotal() {
  document.getElementById('shown').textContent = state.onMap.size.toLocaleString() + ' shown on the map';
}

/** The marker of a changed row follows it (or goes, once the photo is no longer on the map). */
function follow(id, row) {
  const marker = Map.prototype.get.call(state.markers, id);
  if (!marker) return;
  if (state.onMap.has(id)) {
    marker.setLatLng([row[C.lat], row[C.lon]]);
    marker.setIcon(ICONS[row[C.source]] || ICONS.none);
  } else {
    photoLayer.removeLayer(marker);
    state.markers.delete(id);
  }
}

/** Frame the photos once, before they are drawn (bounds as [south, west, north, east]). */
function frame([south, west, north, east]) {
  if (state.fitted || south > north) return;
  state.fitted = true;
  map.fitBounds(L.latLngBounds([south, west], [north, east]).pad(0.1), { maxZoom: 12, animate: false });
}

/** Send every point to the workers (a new index). `on` and the coordinates are theirs now. */
function index(lat, lon, on, n, located) {
  version += 1;
  useCoarse = useCoarse || located >= COARSE_FROM;
  if (useCoarse) {
    if (!held) held = [];
    heldUntil = version;
    coarseReady = false;
    coarse.worker.postMessage({ type: 'load', lat, lon, on, n, version, maxZoom: COARSE_ZOOM });
    toDetailed({ type: 'load', lat, lon, on: on.slice(), n, version, maxZoom: FULL_ZOOM }, [lat.buffer, lon.buffer]);
  } else {
    toDetailed({ type: 'load', lat, lon, on, n, version, maxZoom: FULL_ZOOM }, [lat.buffer, lon.buffer, on.buffer]);
  }
}

/** Cluster the whole library at once from its payload's points (payload.js `points()`), before
 * its rows are made: slot k is row k of the rows `setAllRows` gets next. Frames them, once. */
export function loadPoints(p) {
  const f = currentFilter();
  const passing = p.sources.map((name) => f.sources.has(name));
  const on = new Uint8Array(p.n);
  const bounds = [90, 180, -90, -180];
  let located = 0;
  for (let k = 0; k < p.n; k++) {
    if (!p.located[k]) continue;
    located += 1;
    const lat = p.lat[k]; const lon = p.lon[k];
    if (lat < bounds[0]) bounds[0] = lat;
    if (lon < bounds[1]) bounds[1] = lon;
    if (lat > bounds[2]) bounds[2] = lat;
    if (lon > bounds[3]) bounds[3] = lon;
    if (passing[p.source[k]]) on[k] = 1; // the name, date and place filters are applied with the rows
  }
  frame(bounds);
  early = { n: p.n, on: on.slice() };
  rowsPending = true;
  index(p.lat, p.lon, on, p.n, located);
}

/** Take every row from the server (in slices: the page stays responsive). Resolves once they
 * are in state.rows; the map shows them once `drawn()` resolves. */
export async function setAllRows(rows) {
  const preloaded = early && early.n === rows.length ? early : null;
  early = null;
  if (!preloaded) { clusterLayer.clearLayers(); photoLayer.clearLayers(); }
  state.rows.clear(); state.onMap.clear(); state.markers.clear(); slots.clear();
  rowList = rows;
  const n = rows.length;
  const f = currentFilter();
  const from = filters;
  const on = new Uint8Array(n);
  const lat = preloaded ? null : new Float64Array(n);
  const lon = preloaded ? null : new Float64Array(n);
  const bounds = [90, 180, -90, -180];
  let located = 0;
  const slice = slicer();
  for (let start = 0; start < n; start += CHECK) {
    const end = Math.min(n, start + CHECK);
    for (let k = start; k < end; k++) {
      const row = rows[k];
      const id = row[C.id];
      slots.set(id, k);
      state.rows.set(id, row);
      if (shown(row, f)) { on[k] = 1; state.onMap.add(id); }
      if (preloaded || row[C.lat] === null || row[C.lon] === null) continue;
      lat[k] = row[C.lat]; lon[k] = row[C.lon];
      if (row[C.status] !== 'located') continue;
      located += 1;
      bounds[0] = Math.min(bounds[0], lat[k]); bounds[1] = Math.min(bounds[1], lon[k]);
      bounds[2] = Math.max(bounds[2], lat[k]); bounds[3] = Math.max(bounds[3], lon[k]);
    }
    if (slice.due()) await slice.pause();
  }
  if (!preloaded) {
    frame(bounds);
    index(lat, lon, on, n, located);
  } else if (on.some((v, k) => v !== preloaded.on[k])) {
    version += 1;
    post({ type: 'mask', on, version }, [on.buffer]);
  } else {
    refresh(); // the photos drawn alone need their rows: they are here now
  }
  if (filters !== from) refilter(); // the filters changed while the rows came in
  showTotal();
  rowsPending = false;
  release();
}

/** Resolves once the map shows every change sent so far. */
export const drawn = () => drawnFrom(version);
/** Resolves once the view asked for last is drawn, or after `ms` (an index being built answers late). */
export const viewDrawn = (ms) => Promise.race([drawnAfter(asked), new Promise((resolve) => setTimeout(resolve, ms))]);

/** Merge changed rows from the server into state.rows and the workers' index. */
export function setRows(rows) {
  const f = currentFilter();
  const ks = new Int32Array(rows.length);
  const lat = new Float64Array(rows.length);
  const lon = new Float64Array(rows.length);
  const on = new Uint8Array(rows.length);
  rows.forEach((row, i) => {
    const id = row[C.id];
    let k = slots.get(id);
    if (k === undefined) { k = rowList.length; slots.set(id, k); }
    rowList[k] = row;
    state.rows.set(id, row);
    ks[i] = k;
    if (row[C.lat] !== null) { lat[i] = row[C.lat]; lon[i] = row[C.lon]; }
    if (shown(row, f)) { on[i] = 1; state.onMap.add(id); } else state.onMap.delete(id);
    follow(id, row);
  });
  version += 1;
  post({ type: 'points', ks, lat, lon, on, version }, [ks.buffer, lat.buffer, lon.buffer, on.buffer]);
  showTotal();
}

/** Show on the map only the photos that pass the filters (now). Resolves once it does. */
export function refilter() {
  filters += 1;
  const f = currentFilter();
  const on = new Uint8Array(rowList.length);
  state.onMap.clear();
  for (let k = 0; k < rowList.length; k++) {
    const row = rowList[k];
    if (shown(row, f)) { on[k] = 1; state.onMap.add(row[C.id]); }
  }
  for (const id of [...state.markers.keys()]) if (!state.onMap.has(id)) follow(id, state.rows.get(id));
  version += 1;
  post({ type: 'mask', on, version }, [on.buffer]);
  showTotal();
  return drawnFrom(version);
}

// -- drawing what is in view ---------------------------------------------------------------------

let asked = 0; // views asked for
let drawnView = 0; // the last view drawn
let drawnVersion = 0;
let querying = false;
const waiters = []; // {view, version, resolve}

function settle() {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i];
    if (drawnView >= w.view && drawnVersion >= w.version) { waiters.splice(i, 1); w.resolve(); }
  }
}

const drawnFrom = (v) => new Promise((resolve) => { waiters.push({ view: 0, version: v, resolve }); settle(); });
const drawnAfter = (view) => new Promise((resolve) => { waiters.push({ view, version: 0, resolve }); settle(); });

/** Ask the worker for the view and draw it; views asked for meanwhile are drawn once, after. */
async function refresh() {
  asked += 1;
  if (querying) return;
  querying = true;
  try {
    while (drawnView < asked) {
      const view = asked;
      const b = map.getBounds().pad(VIEW_PAD);
      const zoom = map.getZoom();
      const w = workerFor(zoom);
      const reply = await ask(w, { type: 'query', bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], zoom });
      draw(reply, zoom, w);
      drawnView = view;
      drawnVersion = reply.version;
      settle();
    }
  } finally {
    querying = false;
  }
}
map.on('moveend', refresh);

const clusterSize = (count) => (count < 10 ? 'small' : count < 100 ? 'medium' : 'large');

function clusterMarker(lat, lon, count, id, from) {
  const digits = String(count).length;
  const size = 40 + Math.max(0, digits - 3) * 8; // room for 100000
  const marker = L.marker([lat, lon], {
    icon: L.divIcon({
      className: 'marker-cluster marker-cluster-' + clusterSize(count), iconSize: [size, size],
      html: el('div', {}, el('span', {}, String(count))),
    }),
    title: count.toLocaleString() + ' photos',
  });
  marker.cluster = { id, build, count, worker: from };
  marker.on('click', () => expand(marker));
  return marker;
}

/** A longitude moved by whole turns to the copy of the world nearest the view. */
function near(lon, centre) {
  return lon + 360 * Math.round((centre - lon) / 360);
}

function draw(reply, zoom, from) {
  build = reply.build;
  const items = reply.items;
  const centre = map.getCenter().lng;
  const clusters = new Map();
  const photos = new Set();
  for (let i = 0; i < items.length; i += 4) {
    const lat = items[i + 1];
    const lon = near(items[i], centre);
    const count = items[i + 2];
    if (count === 1) {
      const row = rowList[items[i + 3]];
      const marker = row && state.markers.get(row[C.id]);
      if (!marker) continue;
      const at = marker.getLatLng();
      const lng = near(row[C.lon], centre);
      if (at.lat !== row[C.lat] || at.lng !== lng) marker.setLatLng([row[C.lat], lng]);
      photos.add(marker);
    } else {
      clusters.set(from.name + build + ':' + zoom + ':' + items[i + 3], [lat, lon, count, items[i + 3]]);
    }
  }
  // Clusters: keep the markers that stay (a click on one survives a redraw), add the new ones.
  const kept = new Set();
  for (const marker of clusterLayer.getLayers()) {
    if (clusters.has(marker.key)) { kept.add(marker.key); } else clusterLayer.removeLayer(marker);
  }
  for (const [key, [lat, lon, count, id]] of clusters) {
    if (kept.has(key)) continue;
    const marker = clusterMarker(lat, lon, count, id, from);
    marker.key = key;
    clusterLayer.addLayer(marker);
  }
  const busy = (m) => m === pinned || m === state.dragging || m.isPopupOpen();
  for (const marker of photoLayer.getLayers()) if (!photos.has(marker) && !busy(marker)) photoLayer.removeLayer(marker);
  for (const marker of photos) if (!photoLayer.hasLayer(marker)) photoLayer.addLayer(marker);
  for (const [id, marker] of state.markers) if (!photoLayer.hasLayer(marker) && !busy(marker)) state.markers.delete(id);
  document.body.dataset.clusters = String(clusters.size);
  performance.mark('geolocator:drawn', { detail: { zoom } });
}

async function expand(marker) {
  const done = urgently(); // the rows being made wait until the click is answered
  try {
    const { id, build: of, worker } = marker.cluster;
    const reply = await ask(worker, { type: 'expand', cluster: id, build: of });
    if (reply.zoom === null) { refresh(); return; } // the index was rebuilt meanwhile: draw it again
    // Without the zoom animation: its quarter second would hold back the children's drawing.
    map.setView(marker.getLatLng(), Math.min(reply.zoom, map.getMaxZoom()), { animate: false });
    await viewDrawn(1000);
  } finally {
    done();
  }
}

/** Frame these rows' photos, if nothing was framed yet (the first photos of an empty library). */
export function fitOnce(rows) {
  const bounds = [90, 180, -90, -180];
  for (const r of rows) {
    if (r[C.status] !== 'located' || r[C.lat] === null) continue;
    bounds[0] = Math.min(bounds[0], r[C.lat]); bounds[1] = Math.min(bounds[1], r[C.lon]);
    bounds[2] = Math.max(bounds[2], r[C.lat]); bounds[3] = Math.max(bounds[3], r[C.lon]);
  }
  frame(bounds);
}

/** Bring the photo's marker on screen, drawn alone: zoom in until its cluster splits, and close
 * in from far out; then `then()`. With an uncertainty circle of `radiusKm`, the view is no closer
 * than the whole circle fits (zooming out if need be), unless the marker is drawn alone only closer. */
export async function reveal(marker, then, radiusKm = 0) {
  const k = slots.get(marker.photoId);
  const here = map.getZoom();
  // With a circle, the zoom where the marker is first drawn alone is sought from the world view:
  // the circle may want a wider view than the present one.
  const reply = k === undefined ? { zoom: null } : await ask(detailed, { type: 'reveal', k, zoom: radiusKm ? 0 : here });
  let zoom = Math.max(here, reply.zoom ?? here);
  if (here < FAR_OUT) zoom = Math.max(zoom, CLOSE_ZOOM);
  if (radiusKm) zoom = Math.max(reply.zoom ?? 0, Math.min(zoom, map.getBoundsZoom(marker.getLatLng().toBounds(radiusKm * 2000 * 1.2))));
  zoom = Math.min(zoom, map.getMaxZoom());
  const inView = map.getBounds().contains(marker.getLatLng());
  pinned = marker;
  if (zoom !== here || !inView || !photoLayer.hasLayer(marker)) {
    map.setView(marker.getLatLng(), zoom, { animate: false }); // moveend asks for the new view
    await drawnAfter(asked);
  }
  if (!photoLayer.hasLayer(marker)) photoLayer.addLayer(marker); // still in a cluster at the last zoom
  then();
}
map.on('popupclose', (e) => {
  if (pinned && e.popup === pinned.getPopup()) pinned = null;
});

export function clearUncertainty() {
  if (state.uncertainty) { state.uncertainty.remove(); state.uncertainty = null; }
}

// The uncertainty circle of a selected photo, in its marker's colour: an AI estimate's dashed,
// a track point's dotted (the spacing and accuracy of the track), a nearby point's long-dashed
// (how far its time neighbours are). A location from the file or a manual fix has none.
const CIRCLES = {
  ai: { color: '#d9480f', dashArray: '6 4', fillOpacity: 0.08 },
  track: { color: '#7048e8', dashArray: '2 5', fillOpacity: 0.06 },
  nearby: { color: '#0c8599', dashArray: '12 6', fillOpacity: 0.06 },
};

/** The radius (km) of a photo's uncertainty circle; 0 when its source draws none. */
export const uncertaintyKm = (detail) => (CIRCLES[detail.source] && detail.radius_km) || 0;

/** The circle of a selected photo's uncertainty radius, if its source has one. */
export function showUncertainty(detail) {
  clearUncertainty();
  const style = CIRCLES[detail.source];
  if (uncertaintyKm(detail)) {
    state.uncertainty = L.circle([detail.lat, detail.lon], {
      radius: detail.radius_km * 1000, weight: 1.5, interactive: false, className: 'uncertainty ' + detail.source, ...style,
    }).addTo(map);
  }
}
map.on('popupclose', clearUncertainty);
