// The Leaflet map: tiles with the built-in world outline under them, clustered markers, framing,
// the quick overview of a large library, and revealing one marker.
/* global L */
import { el, notice } from './dom.js';
import { currentFilter, passes } from './filters.js';
import { C, TILE_ATTRIBUTION, TILE_URL, state } from './state.js';

export const map = L.map('map', { worldCopyJump: true, minZoom: 1, maxZoom: 19 }).setView([25, 0], 2);

// The world outline sits under the tiles: hidden by them when they load, the map when they don't.
map.createPane('outline').style.zIndex = 150;
fetch('/static/vendor/world/countries-110m.geojson')
  .then((r) => r.json())
  .then((world) => {
    L.geoJSON(world, {
      pane: 'outline', interactive: false, renderer: L.svg({ pane: 'outline' }),
      style: { color: '#8a8f98', weight: 0.8, fillColor: '#f3f0e8', fillOpacity: 1 },
    }).addTo(map);
    document.body.dataset.outline = 'ready';
  })
  .catch(() => { document.body.dataset.outline = 'failed'; });

if (TILE_URL) {
  let failedTiles = 0;
  const tiles = L.tileLayer(TILE_URL, { attribution: TILE_ATTRIBUTION, maxZoom: 19 });
  tiles.on('tileerror', () => {
    failedTiles += 1;
    if (failedTiles === 1) {
      document.body.dataset.tiles = 'failed';
      notice('Map tiles cannot be loaded: showing the built-in world outline.');
    }
  });
  tiles.on('tileload', () => { document.body.dataset.tiles = 'ok'; });
  tiles.addTo(map);
} else {
  map.attributionControl.addAttribution('World outline: Natural Earth');
}

const ICONS = {};
for (const source of ['exif', 'ai', 'manual', 'none']) {
  ICONS[source] = L.divIcon({ className: 'photo-marker ' + source, iconSize: [14, 14], iconAnchor: [7, 7], popupAnchor: [0, -6] });
}

// addLayers() has no completion callback: chunkProgress reports the last chunk.
const afterAdd = [];
export const cluster = L.markerClusterGroup({
  // 100k markers take seconds to cluster: work in slices so the page stays responsive, and
  // don't sleep between slices (the default 50 ms pause costs a second at 100k).
  chunkedLoading: true,
  chunkInterval: 200,
  chunkDelay: 1,
  // Fewer zoom levels to index: from 17 on, photos are shown one by one (spiderfied if stacked).
  disableClusteringAtZoom: 17,
  chunkProgress: (done, total) => {
    if (done === total) afterAdd.splice(0).forEach((fn) => fn());
  },
  showCoverageOnHover: false,
  maxClusterRadius: 70,
  spiderfyOnMaxZoom: true,
  removeOutsideVisibleBounds: true,
});
cluster.addTo(map);

export function markerFor(row) {
  const marker = L.marker([row[C.lat], row[C.lon]], { icon: ICONS[row[C.source]] || ICONS.none, keyboard: false });
  marker.photoId = row[C.id];
  return marker;
}

/** Bring the cluster group in line with the filters; only the difference is added/removed. */
export function syncMarkers(done) {
  const f = currentFilter();
  const add = [];
  const remove = [];
  for (const [id, marker] of state.markers) {
    const want = passes(state.rows.get(id), f);
    if (want && !state.onMap.has(id)) { add.push(marker); state.onMap.add(id); }
    else if (!want && state.onMap.has(id)) { remove.push(marker); state.onMap.delete(id); }
  }
  if (remove.length) cluster.removeLayers(remove);
  document.getElementById('shown').textContent = state.onMap.size.toLocaleString() + ' shown on the map';
  if (add.length) {
    if (done) afterAdd.push(done);
    cluster.addLayers(add);
  } else if (done) {
    done();
  }
}

/** Frame the photos once, before the markers go in, so clusters are built for the final zoom. */
export function fitOnce(rows) {
  if (state.fitted) return;
  let south = 90; let west = 180; let north = -90; let east = -180;
  for (const r of rows) {
    if (r[C.status] !== 'located' || r[C.lat] === null) continue;
    south = Math.min(south, r[C.lat]); north = Math.max(north, r[C.lat]);
    west = Math.min(west, r[C.lon]); east = Math.max(east, r[C.lon]);
  }
  if (south > north) return;
  state.fitted = true;
  map.fitBounds(L.latLngBounds([south, west], [north, east]).pad(0.1), { maxZoom: 12, animate: false });
}

/** Until markercluster has indexed every marker (seconds at 100k), paint a quick overview:
 * the same cluster icons, from a one-pass grid count at the current zoom. Not interactive;
 * replaced by the real clusters as soon as they are ready. */
export function paintOverview(rows) {
  const f = currentFilter();
  const zoom = map.getZoom();
  const cell = 70;
  const grid = new Map();
  for (const r of rows) {
    if (!passes(r, f)) continue;
    const p = map.project([r[C.lat], r[C.lon]], zoom);
    const key = Math.floor(p.x / cell) + ':' + Math.floor(p.y / cell);
    let g = grid.get(key);
    if (!g) grid.set(key, (g = { n: 0, lat: 0, lon: 0, source: r[C.source] }));
    g.n += 1; g.lat += r[C.lat]; g.lon += r[C.lon];
  }
  const layer = L.layerGroup();
  for (const g of grid.values()) {
    const icon = g.n === 1
      ? ICONS[g.source] || ICONS.none
      : L.divIcon({
        className: 'marker-cluster overview marker-cluster-' + (g.n < 10 ? 'small' : g.n < 100 ? 'medium' : 'large'),
        iconSize: [40, 40], html: el('div', {}, el('span', {}, String(g.n))),
      });
    layer.addLayer(L.marker([g.lat / g.n, g.lon / g.n], { icon, interactive: false, keyboard: false }));
  }
  return layer.addTo(map);
}

/** Zoom/spiderfy until the marker itself is shown, then `then()` once. markercluster's
 * zoomToShowLayer never calls back when its pan is a no-op, so a timer backs it up. */
export function reveal(marker, then) {
  let called = false;
  const once = () => { if (!called) { called = true; then(); } };
  if (marker._icon && map.getBounds().contains(marker.getLatLng())) { once(); return; }
  cluster.zoomToShowLayer(marker, once);
  setTimeout(() => {
    if (called) return;
    if (!marker._icon) map.setView(marker.getLatLng(), map.getMaxZoom(), { animate: false });
    setTimeout(once, 300);
  }, 1500);
}

export function clearUncertainty() {
  if (state.uncertainty) { state.uncertainty.remove(); state.uncertainty = null; }
}

/** The dashed circle of an AI estimate's uncertainty. */
export function showUncertainty(detail) {
  clearUncertainty();
  if (detail.source === 'ai' && detail.radius_km) {
    state.uncertainty = L.circle([detail.lat, detail.lon], {
      radius: detail.radius_km * 1000, color: '#d9480f', weight: 1.5, dashArray: '6 4', fillOpacity: 0.08, interactive: false,
    }).addTo(map);
  }
}
map.on('popupclose', clearUncertainty);
