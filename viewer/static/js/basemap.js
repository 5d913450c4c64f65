// The offline basemap, always under the tiles (so it shows wherever they do not): land, sea,
// lakes, rivers and borders from the cells scripts/build_basemap.py cut (viewer/static/basemap/,
// GSHHG and WDBII), and the names of countries, regions and towns from our gazetteer
// (/api/labels). Far out (zoom < 5) the bundled Natural Earth outline stands in for the cells.
//
// Each cell is a file of integer rings and lines (viewer/basemap/build.py). Rings cut at a cell's
// border are filled whole, but only their edges off the border are stroked as coastline, so the
// cells join without seams. Only the cells around the view are on the map, drawn on one canvas.
/* global L */
import { el } from './dom.js';

const FORMAT = 1;
const OUTLINE_BELOW = 5; // zooms under this show the world outline, not the cells
const FINE_FROM = 8; // zooms from this use the 5° cells
const KEPT_CELLS = 48; // parsed cells kept for panning back
const LAND = '#f3f0e8';
const WATER = '#cfe2ef';
const STYLE = {
  coast: { color: '#8fb4c9', weight: 1 },
  rivers: { color: '#8fbfdc', weight: 1.3 },
  borders: { color: '#9c8aa5', weight: 1.2, dashArray: '6 3' },
  states: { color: '#b9adc0', weight: 0.8, dashArray: '3 3' },
};

/** [lat, lng] points of an encoded line: the first point whole, then differences, at `scale`. */
function decode(code, scale, shift) {
  const points = new Array(code.length / 2);
  let x = 0; let y = 0;
  for (let k = 0; k < code.length; k += 2) {
    x += code[k]; y += code[k + 1];
    points[k / 2] = [y / scale, x / scale + shift];
  }
  return points;
}

/** A ring's coastline: its edges that are not on the cell's border (the cut), as lines. */
function coastOf(code, scale, shift, border) {
  const lines = [];
  let line = [];
  let x = 0; let y = 0;
  const xs = []; const ys = [];
  for (let k = 0; k < code.length; k += 2) { x += code[k]; y += code[k + 1]; xs.push(x); ys.push(y); }
  const n = xs.length;
  const onBorder = (a, b) => (xs[a] === xs[b] && (xs[a] === border.west || xs[a] === border.east))
    || (ys[a] === ys[b] && (ys[a] === border.south || ys[a] === border.north));
  for (let a = 0; a < n; a++) {
    const b = (a + 1) % n;
    if (onBorder(a, b)) {
      if (line.length > 1) lines.push(line);
      line = [];
      continue;
    }
    if (!line.length) line.push([ys[a] / scale, xs[a] / scale + shift]);
    line.push([ys[b] / scale, xs[b] / scale + shift]);
  }
  if (line.length > 1) lines.push(line);
  return lines;
}

/** The Leaflet layers of one cell, shifted by whole turns of longitude (`shift`). */
function cellLayers(data, level, i, j, shift, renderer) {
  const scale = level.scale;
  const west = (-180 + i * level.cell) * scale; const south = (-90 + j * level.cell) * scale;
  const border = { west, south, east: west + level.cell * scale, north: south + level.cell * scale };
  const common = { renderer, interactive: false, smoothFactor: 1.5 };
  const layers = [];
  const byLevel = new Map();
  const coast = [];
  for (const [gshhg, code] of data.polys) {
    if (!byLevel.has(gshhg)) byLevel.set(gshhg, []);
    byLevel.get(gshhg).push(decode(code, scale, shift));
    coast.push(...coastOf(code, scale, shift, border));
  }
  const bounds = [[border.south / scale, border.west / scale + shift], [border.north / scale, border.east / scale + shift]];
  layers.push(L.rectangle(bounds, { ...common, stroke: false, fillColor: WATER, fillOpacity: 1 }));
  for (const gshhg of [...byLevel.keys()].sort()) {
    const fill = gshhg % 2 === 0 ? WATER : LAND; // 2 lakes, 4 ponds; 1 land, 3 islands in lakes, 5 Antarctica
    layers.push(L.polygon(byLevel.get(gshhg), { ...common, stroke: false, fillColor: fill, fillOpacity: 1 }));
  }
  if (coast.length) layers.push(L.polyline(coast, { ...common, ...STYLE.coast }));
  for (const kind of ['rivers', 'states', 'borders']) {
    if (data[kind].length) layers.push(L.polyline(data[kind].map((code) => decode(code, scale, shift)), { ...common, ...STYLE[kind] }));
  }
  return L.layerGroup(layers);
}

export function addBasemap(map) {
  map.createPane('outline').style.zIndex = 150;
  map.createPane('basemap').style.zIndex = 155;
  map.createPane('labels').style.zIndex = 160;
  map.getPane('labels').style.pointerEvents = 'none';
  const renderer = L.canvas({ pane: 'basemap', padding: 0.1 });
  const outline = L.layerGroup().addTo(map);
  const drawn = L.layerGroup().addTo(map);
  const cells = new Map(); // "level/i_j" -> {data} or {pending}
  const onMap = new Map(); // "level/i_j@shift" -> layer group
  let index = null;

  fetch('/static/vendor/world/countries-110m.geojson')
    .then((r) => r.json())
    .then((world) => {
      L.geoJSON(world, {
        pane: 'outline', interactive: false, renderer: L.svg({ pane: 'outline' }),
        style: { color: '#8a8f98', weight: 0.8, fillColor: LAND, fillOpacity: 1 },
      }).addTo(outline);
      document.body.dataset.outline = 'ready';
      performance.mark('geolocator:outline');
    })
    .catch(() => { document.body.dataset.outline = 'failed'; });

  fetch('/static/basemap/index.json')
    .then((r) => (r.ok ? r.json() : null))
    .then((found) => {
      if (!found || found.format !== FORMAT) throw new Error('no basemap');
      index = found.levels.map((level) => ({ ...level, cells: new Set(level.cells) }));
      update();
    })
    .catch(() => { document.body.dataset.basemap = 'missing'; });

  function levelFor(zoom) {
    if (!index || zoom < OUTLINE_BELOW) return null;
    return index[zoom < FINE_FROM ? 0 : 1];
  }

  function load(key) {
    const entry = { pending: true };
    cells.set(key, entry);
    fetch('/static/basemap/' + key + '.json')
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.status))))
      .then((data) => { entry.data = data; entry.pending = false; update(); })
      .catch(() => { entry.pending = false; entry.failed = true; });
  }

  function update() {
    const level = levelFor(map.getZoom());
    map.getPane('outline').style.display = level ? 'none' : '';
    if (!level) {
      drawn.clearLayers(); onMap.clear();
      document.body.dataset.basemap = index ? 'outline' : document.body.dataset.basemap || 'loading';
      return;
    }
    const b = map.getBounds().pad(0.2);
    const columns = 360 / level.cell; const rows = 180 / level.cell;
    const wanted = new Set();
    let waiting = 0;
    const jFrom = Math.max(0, Math.floor((Math.max(b.getSouth(), -90) + 90) / level.cell));
    const jTo = Math.min(rows - 1, Math.floor((Math.min(b.getNorth(), 90) + 90) / level.cell));
    const iFrom = Math.floor((b.getWest() + 180) / level.cell);
    const iTo = Math.floor((b.getEast() + 180) / level.cell);
    for (let i = iFrom; i <= Math.min(iTo, iFrom + columns - 1); i++) {
      const wrapped = ((i % columns) + columns) % columns;
      const shift = Math.floor(i / columns) * 360;
      for (let j = jFrom; j <= jTo; j++) {
        const key = level.level + '/' + wrapped + '_' + j;
        const placed = key + '@' + shift;
        wanted.add(placed);
        if (onMap.has(placed)) continue;
        let layer;
        if (level.cells.has(wrapped + '_' + j)) {
          const entry = cells.get(key);
          if (!entry) { load(key); waiting += 1; continue; }
          if (entry.pending) { waiting += 1; continue; }
          if (!entry.data) continue;
          cells.delete(key); cells.set(key, entry); // most recently used last
          layer = cellLayers(entry.data, level, wrapped, j, shift, renderer);
        } else { // open sea
          const west = -180 + wrapped * level.cell + shift; const south = -90 + j * level.cell;
          layer = L.rectangle([[south, west], [south + level.cell, west + level.cell]],
            { renderer, interactive: false, stroke: false, fillColor: WATER, fillOpacity: 1 });
        }
        onMap.set(placed, layer);
        drawn.addLayer(layer);
      }
    }
    for (const [placed, layer] of onMap) if (!wanted.has(placed)) { drawn.removeLayer(layer); onMap.delete(placed); }
    while (cells.size > KEPT_CELLS) cells.delete(cells.keys().next().value);
    document.body.dataset.basemap = waiting ? 'loading' : 'level-' + level.level;
    document.body.dataset.basemapCells = String(onMap.size);
    if (!waiting) performance.mark('geolocator:basemap', { detail: { level: level.level, cells: onMap.size } });
  }
  map.on('moveend', update);
  addLabels(map);
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

/** Labels drawn where they do not overlap one drawn before (the server sends the most important first). */
function addLabels(map) {
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
