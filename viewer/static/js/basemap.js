// The offline basemap, always under the tiles (so it shows wherever they do not): land, sea,
// lakes, rivers, main roads and borders from the cells scripts/build_basemap.py cut
// (viewer/static/basemap/: GSHHG, WDBII and OpenStreetMap's main roads), and the names of
// countries, regions and towns from our gazetteer (/api/labels). Far out (zoom < 5) the bundled
// Natural Earth outline stands in for the cells.
//
// The cells are painted as 256 px map tiles by basemap-worker.js (a Web Worker, on an
// OffscreenCanvas): a pan asks only for the tiles it uncovers, and the page just places the
// bitmaps that come back, so painting never blocks it. The worker starts at the first tile.
/* global L */
import { el } from './dom.js';

const OUTLINE_BELOW = 5; // zooms under this show the world outline, not the cells
const FINE_FROM = 8; // zooms from this use the 5° cells (level 2)
const LAND = '#f3f0e8';
const OUTLINE_URL = '/static/vendor/world/countries-110m.geojson';

/** Map tiles painted by the worker; each tile's canvas gets the bitmap and the cells it took. */
const CellTiles = L.GridLayer.extend({
  initialize(options) {
    L.GridLayer.prototype.initialize.call(this, options);
    this._jobs = new Map(); // job id -> {tile, done}
    this._nextJob = 1;
    this._worker = null;
    this.on('tileunload', ({ tile }) => {
      const job = Number(tile.dataset.job);
      if (this._jobs.delete(job)) this._worker.postMessage({ cancel: job });
    });
  },

  createTile(coords, done) {
    if (!this._worker) this._startWorker();
    const ratio = window.devicePixelRatio || 1;
    const tile = document.createElement('canvas');
    tile.width = tile.height = Math.round(256 * ratio);
    const job = this._nextJob++;
    tile.dataset.job = String(job);
    this._jobs.set(job, { tile, done });
    this._worker.postMessage({ tile: job, z: coords.z, x: coords.x, y: coords.y, ratio });
    return tile;
  },

  _startWorker() {
    this._worker = new Worker('/static/js/basemap-worker.js', { name: 'basemap' });
    this._worker.onerror = () => { document.body.dataset.basemap = 'failed'; }; // e.g. no OffscreenCanvas
    this._worker.onmessage = ({ data }) => {
      if (data.index !== undefined) {
        if (!data.index) document.body.dataset.basemap = 'missing';
        return;
      }
      const job = this._jobs.get(data.tile);
      this._jobs.delete(data.tile);
      if (!job) { data.bitmap.close(); return; } // the tile left the map meanwhile
      job.tile.getContext('2d').drawImage(data.bitmap, 0, 0);
      data.bitmap.close();
      job.tile.cells = data.cells;
      job.done(null, job.tile);
    };
  },

  /** The cells the tiles on the map were painted from. */
  cellsShown() {
    const shown = new Set();
    for (const { el: tile } of Object.values(this._tiles)) for (const cell of tile.cells || []) shown.add(cell);
    return shown.size;
  },
});

export function addBasemap(map) {
  map.createPane('outline').style.zIndex = 150;
  map.createPane('basemap').style.zIndex = 155;
  map.createPane('labels').style.zIndex = 160;
  map.getPane('labels').style.pointerEvents = 'none';

  const drawOutline = (world) => {
    if (!world) throw new Error('no outline');
    L.geoJSON(world, {
      pane: 'outline', interactive: false, renderer: L.svg({ pane: 'outline' }),
      style: { color: '#8a8f98', weight: 0.8, fillColor: LAND, fillOpacity: 1 },
    }).addTo(map);
    document.body.dataset.outline = 'ready';
    requestAnimationFrame(() => { // the frame that paints it: sketch.js's canvas goes in the same one
      const sketch = document.getElementById('outline-sketch');
      if (sketch) sketch.remove();
      if (!performance.getEntriesByName('geolocator:outline').length) performance.mark('geolocator:outline');
    });
  };
  // The page carries the outline (sketch.js read it): drawn at once; fetched if it did not.
  const outlineDrawn = (window.geolocatorOutline ? Promise.resolve(window.geolocatorOutline)
    : fetch(OUTLINE_URL).then((r) => (r.ok ? r.json() : null)))
    .then(drawOutline)
    .catch(() => { document.body.dataset.outline = 'failed'; });

  const tiles = new CellTiles({ pane: 'basemap', minZoom: OUTLINE_BELOW, maxZoom: 22 }).addTo(map);
  const status = () => {
    const zoom = map.getZoom();
    map.getPane('outline').style.display = zoom < OUTLINE_BELOW ? '' : 'none';
    if (document.body.dataset.basemap === 'missing') return;
    if (zoom < OUTLINE_BELOW) document.body.dataset.basemap = 'outline';
  };
  tiles.on('loading', () => {
    if (document.body.dataset.basemap !== 'missing') document.body.dataset.basemap = 'loading';
  });
  tiles.on('load', () => {
    if (document.body.dataset.basemap === 'missing') return;
    const level = map.getZoom() < FINE_FROM ? 1 : 2;
    const cells = tiles.cellsShown();
    document.body.dataset.basemap = 'level-' + level;
    document.body.dataset.basemapCells = String(cells);
    performance.mark('geolocator:basemap', { detail: { level, cells } });
  });
  map.on('zoomend', status);
  status();
  addLabels(map, outlineDrawn);
}

// -- names ----------------------------------------------------------------------------------------

const LABEL_FONT = { country: 14, region: 12, town: 12 };

function labelIcon(label) {
  const big = label.kind === 'town' && label.population >= 1000000;
  return L.divIcon({
    className: 'place-label ' + label.kind + (big ? ' big' : ''), iconSize: null,
    html: el('span', {}, label.name),
  });
}

/** Labels drawn where they do not overlap one drawn before (the server sends the most important
 * first); the first ones only once the outline is drawn (or failed): the map first. */
function addLabels(map, outlineDrawn) {
  const layer = L.layerGroup().addTo(map);
  let controller = null;
  let asked = 0;
  async function update() {
    const view = ++asked;
    if (controller) controller.abort();
    controller = new AbortController();
    const b = map.getBounds();
    const zoom = map.getZoom();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(3)).join(',');
    let found;
    try {
      const r = await fetch('/api/labels?bbox=' + bbox + '&zoom=' + zoom, { signal: controller.signal });
      if (!r.ok) throw new Error(String(r.status));
      found = await r.json();
      await outlineDrawn;
    } catch (err) {
      if (err.name !== 'AbortError') document.body.dataset.labels = 'failed';
      return;
    }
    if (view !== asked) return;
    const centre = map.getCenter().lng;
    const taken = [];
    const markers = [];
    for (const label of found.labels) {
      const lon = label.lon + 360 * Math.round((centre - label.lon) / 360);
      const at = map.latLngToContainerPoint([label.lat, lon]);
      const size = LABEL_FONT[label.kind] * (label.kind === 'country' ? 1.1 : 1);
      const half = { x: (label.name.length * size * 0.3) + 4, y: size * 0.7 + 2 };
      const box = [at.x - half.x, at.y - half.y, at.x + half.x, at.y + half.y];
      if (taken.some((t) => box[0] < t[2] && box[2] > t[0] && box[1] < t[3] && box[3] > t[1])) continue;
      taken.push(box);
      markers.push(L.marker([label.lat, lon], { icon: labelIcon(label), pane: 'labels', interactive: false, keyboard: false }));
    }
    layer.clearLayers();
    for (const marker of markers) layer.addLayer(marker);
    document.body.dataset.labels = String(markers.length);
    performance.mark('geolocator:labels', { detail: { zoom, count: markers.length } });
  }
  map.on('moveend', update);
  map.whenReady(update);
}
