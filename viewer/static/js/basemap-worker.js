// The offline basemap's painter, in a Web Worker so that painting never holds up the page: it
// fetches the cells scripts/build_basemap.py cut (viewer/static/basemap/, see viewer/basemap/build.py),
// and paints each 256 px map tile the page asks for on an OffscreenCanvas, sent back as an
// ImageBitmap. The page (basemap.js) only places the bitmaps.
//
// Messages in:  {tile: id, z, x, y, ratio}  paint this tile (x, y already wrapped into the world)
//               {cancel: id}               the tile left the map before it was painted
// Messages out: {index: true | false}       whether the basemap is built (once, at start)
//               {tile: id, bitmap, cells}  the painted tile and the cells it took
//
// A cell is decoded once into Web Mercator coordinates of the whole world as 0..1 (Float64Array),
// cut into pieces of at most PIECE points with their bounding boxes, so a tile strokes only what
// crosses it; rings are filled whole (the canvas clips them). Rings cut at a cell's border are
// filled, but only their edges off the border are stroked as coastline, so cells join without seams.
'use strict';

const FORMAT = 2;
const FINE_FROM = 8; // zooms from this use the 5° cells
const KEPT_CELLS = 24; // decoded cells kept (a view at zoom 8 takes up to 6; a coast's cell can be MBs)
const PIECE = 256; // points in a piece of line
const LAND = '#f3f0e8';
const WATER = '#cfe2ef';
const LINES = [ // drawn in this order, over the land: colour and width (CSS px) by zoom
  ['coast', { color: () => '#8fb4c9', width: () => 1 }],
  ['rivers', { color: () => '#8fbfdc', width: () => 1.3 }],
  // Roads from zoom 9 (further out they would hide the land in Japan or Europe), fainter until 12.
  ['roads', {
    color: (z) => (z >= 12 ? '#d08a3c' : z >= 10 ? 'rgba(208, 138, 60, 0.85)' : 'rgba(208, 138, 60, 0.6)'),
    width: (z) => (z >= 12 ? 2 : z >= 10 ? 1.2 : 0.7),
    from: 9,
  }],
  // Roads known only by junctions over 10 km apart: straight lines that may stray from the road.
  ['roads_rough', {
    color: (z) => (z >= 10 ? 'rgba(208, 138, 60, 0.75)' : 'rgba(208, 138, 60, 0.5)'),
    width: (z) => (z >= 12 ? 1.5 : z >= 10 ? 1.2 : 0.7),
    dash: [6, 5],
    from: 9,
  }],
  ['states', { color: () => '#b9adc0', width: () => 0.8, dash: [3, 3] }],
  ['borders', { color: () => '#9c8aa5', width: () => 1.2, dash: [6, 3] }],
];

let levels = null; // [{level, cell, scale, cells: Set}]
const cells = new Map(); // "level/i_j" -> Promise of a decoded cell (most recently used last)
const pending = new Set(); // tiles asked for and not painted yet
const cancelled = new Set(); // of those, the ones no longer wanted
const ready = fetch('/static/basemap/index.json')
  .then((r) => (r.ok ? r.json() : null))
  .then((found) => {
    if (!found || found.format !== FORMAT) throw new Error('no basemap');
    levels = found.levels.map((level) => ({ ...level, cells: new Set(level.cells) }));
    postMessage({ index: true });
  })
  .catch(() => postMessage({ index: false }));

const mercX = (lon) => (lon + 180) / 360;
const mercY = (lat) => {
  const s = Math.sin(Math.max(-85.06, Math.min(85.06, lat)) * Math.PI / 180);
  return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
};

/** The points of an encoded line (the first whole, then differences, at `scale`), as x, y pairs of
 * the 0..1 Mercator world; `grid` gets the integer points (for telling the cell's border apart). */
function decode(code, scale, grid) {
  const out = new Float64Array(code.length);
  let x = 0; let y = 0;
  for (let k = 0; k < code.length; k += 2) {
    x += code[k]; y += code[k + 1];
    out[k] = mercX(x / scale); out[k + 1] = mercY(y / scale);
    if (grid) { grid[k] = x; grid[k + 1] = y; }
  }
  return out;
}

function boxOf(points, from, to) {
  let w = Infinity; let e = -Infinity; let n = Infinity; let s = -Infinity; // y grows southwards
  for (let k = from; k < to; k += 2) {
    const x = points[k]; const y = points[k + 1];
    if (x < w) w = x; if (x > e) e = x; if (y < n) n = y; if (y > s) s = y;
  }
  return [w, n, e, s];
}

/** A line as pieces of at most PIECE points (sharing their end points), each with its box. */
function pieces(points, into) {
  const last = points.length - 2;
  for (let from = 0; from < last; from += 2 * (PIECE - 1)) {
    const to = Math.min(points.length, from + 2 * PIECE);
    const part = points.subarray(from, to);
    into.push({ points: part, box: boxOf(part, 0, part.length) });
  }
}

/** A ring's coastline: its runs of edges that are not on the cell's border (the cut). */
function coastOf(points, grid, border, into) {
  const n = grid.length / 2;
  const onBorder = (a, b) => (grid[2 * a] === grid[2 * b] && (grid[2 * a] === border.west || grid[2 * a] === border.east))
    || (grid[2 * a + 1] === grid[2 * b + 1] && (grid[2 * a + 1] === border.south || grid[2 * a + 1] === border.north));
  let run = [];
  const flush = () => { if (run.length > 2) pieces(Float64Array.from(run), into); run = []; };
  for (let a = 0; a < n; a++) {
    const b = (a + 1) % n;
    if (onBorder(a, b)) { flush(); continue; }
    if (!run.length) run.push(points[2 * a], points[2 * a + 1]);
    run.push(points[2 * b], points[2 * b + 1]);
  }
  flush();
}

function decodeCell(data, level, i, j) {
  const scale = level.scale;
  const west = (-180 + i * level.cell) * scale; const south = (-90 + j * level.cell) * scale;
  const border = { west, south, east: west + level.cell * scale, north: south + level.cell * scale };
  const cell = { rings: [], coast: [] };
  for (const [gshhg, code] of data.polys) {
    const grid = new Int32Array(code.length);
    const points = decode(code, scale, grid);
    // In GSHHG's order (lakes over land, islands over lakes): 2 lakes, 4 ponds; 1 land, 3 islands, 5 Antarctica.
    cell.rings.push({ fill: gshhg % 2 === 0 ? WATER : LAND, points, box: boxOf(points, 0, points.length) });
    coastOf(points, grid, border, cell.coast);
  }
  for (const [kind] of LINES) {
    if (kind === 'coast') continue;
    cell[kind] = [];
    for (const code of data[kind] || []) pieces(decode(code, scale, null), cell[kind]);
  }
  return cell;
}

function cellFor(level, i, j) {
  const key = level.level + '/' + i + '_' + j;
  let entry = cells.get(key);
  if (entry) { cells.delete(key); cells.set(key, entry); return entry; }
  entry = fetch('/static/basemap/' + key + '.json')
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
    .then((data) => decodeCell(data, level, i, j))
    .catch(() => { cells.delete(key); return null; }); // asked again by a later tile
  cells.set(key, entry);
  while (cells.size > KEPT_CELLS) cells.delete(cells.keys().next().value);
  return entry;
}

const overlaps = (a, b) => a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];

function trace(ctx, points, px, ox, oy) {
  ctx.moveTo((points[0] - ox) * px, (points[1] - oy) * px);
  for (let k = 2; k < points.length; k += 2) ctx.lineTo((points[k] - ox) * px, (points[k + 1] - oy) * px);
}

async function paint({ tile, z, x, y, ratio }) {
  await ready;
  const size = Math.round(256 * ratio);
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = WATER;
  ctx.fillRect(0, 0, size, size);
  const used = [];
  if (levels) {
    const level = levels[z < FINE_FROM ? 0 : 1];
    const n = 2 ** z;
    const lonAt = (tx) => tx / n * 360 - 180;
    const latAt = (ty) => Math.atan(Math.sinh(Math.PI * (1 - 2 * ty / n))) * 180 / Math.PI;
    const wanted = [];
    const iFrom = Math.floor((lonAt(x) + 180) / level.cell); const iTo = Math.floor((lonAt(x + 1) + 180 - 1e-9) / level.cell);
    const jFrom = Math.floor((latAt(y + 1) + 90) / level.cell); const jTo = Math.floor((latAt(y) + 90 - 1e-9) / level.cell);
    for (let i = iFrom; i <= iTo; i++) {
      for (let j = Math.max(0, jFrom); j <= Math.min(180 / level.cell - 1, jTo); j++) {
        if (level.cells.has(i + '_' + j)) { wanted.push(cellFor(level, i, j)); used.push(level.level + '/' + i + '_' + j); }
      }
    }
    const found = (await Promise.all(wanted)).filter(Boolean);
    if (cancelled.delete(tile)) { pending.delete(tile); return; }
    const px = n * size; // canvas pixels per world
    const ox = x / n; const oy = y / n;
    const box = [ox, oy, (x + 1) / n, (y + 1) / n];
    const pad = 4 / px; // half a line's width, and then some
    const padded = [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad];
    for (const cell of found) {
      for (const ring of cell.rings) {
        if (!overlaps(ring.box, box)) continue;
        ctx.fillStyle = ring.fill;
        ctx.beginPath();
        trace(ctx, ring.points, px, ox, oy);
        ctx.fill();
      }
    }
    ctx.lineJoin = 'round';
    ctx.lineCap = 'round';
    for (const [kind, style] of LINES) {
      if (z < (style.from || 0)) continue;
      ctx.strokeStyle = style.color(z);
      ctx.lineWidth = style.width(z) * ratio;
      ctx.setLineDash(style.dash ? style.dash.map((v) => v * ratio) : []);
      ctx.beginPath();
      for (const cell of found) {
        for (const piece of cell[kind] || []) if (overlaps(piece.box, padded)) trace(ctx, piece.points, px, ox, oy);
      }
      ctx.stroke();
    }
  }
  pending.delete(tile);
  const bitmap = canvas.transferToImageBitmap();
  postMessage({ tile, bitmap, cells: used }, [bitmap]);
}

onmessage = ({ data }) => {
  if (data.cancel !== undefined) {
    if (pending.has(data.cancel)) cancelled.add(data.cancel);
    return;
  }
  pending.add(data.tile);
  paint(data);
};
