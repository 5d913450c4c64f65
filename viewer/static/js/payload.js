// The map payload (`GET /api/map.bin`, see viewer/rows.py `map_payload`): every map row of the
// library as columns in one binary body, newest first. `openPayload` reads its header; the
// points (coordinates and which rows are located, by source) come straight from the typed
// columns, so the map can cluster them at once; the rows /api/map sends are made afterwards,
// in slices that leave the page responsive between them (a million rows take seconds).
import { C } from './state.js';

const MAGIC = 'GLM1';
const FIXED_NONE = -2147483648;
const ENUM_NONE = 255;
const SLICE_MS = 25; // of work between two pauses
const CHECK = 2000; // rows between two looks at the clock

// A task queued after the events waiting: setTimeout(0) is clamped to 4 ms when nested, and
// scheduler.yield() goes on ahead of them.
const channel = new MessageChannel();
const queued = [];
channel.port1.onmessage = () => queued.shift()();

/** Let the page handle the events waiting (clicks, the cluster workers' answers) before going on. */
export const pause = () => new Promise((resolve) => { queued.push(resolve); channel.port2.postMessage(null); });

/** A pause once `SLICE_MS` have passed since the last one: `await slice.due() && slice.pause()`. */
export function slicer() {
  let since = performance.now();
  return {
    due: () => performance.now() - since > SLICE_MS,
    pause: async () => { await pause(); since = performance.now(); },
  };
}

const TEXT_CHUNK = 1 << 20; // bytes of a text column decoded at once

/** A text column's values, decoded a megabyte at a time (cut at a NUL: in UTF-8 no other
 * character holds a zero byte), with pauses when `slice` says so. */
async function texts(buffer, c, n, slice) {
  if (n === 0) return [];
  const bytes = new Uint8Array(buffer, c.at, c.bytes);
  const decoder = new TextDecoder();
  const values = [];
  for (let start = 0; ;) {
    let end = bytes.indexOf(0, start + TEXT_CHUNK);
    if (end < 0) end = bytes.length;
    for (const value of decoder.decode(bytes.subarray(start, end)).split('\0')) values.push(value);
    if (end === bytes.length) break;
    start = end + 1;
    if (slice.due()) await slice.pause();
  }
  if (values.length !== n) throw new Error('the map payload is damaged (column ' + c.name + ')');
  if (c.kind === 'opt_text') for (let i = 0; i < n; i++) if (values[i] === '') values[i] = null;
  return values;
}

/** An opened payload: {header, n, points(), rows()}. */
export function openPayload(buffer) {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) throw new Error('not a map payload');
  const headerBytes = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  const base = Math.ceil((8 + headerBytes) / 8) * 8;
  const n = header.n;
  const columns = {};
  for (const c of header.columns) {
    if (!(c.name in C)) throw new Error('the map payload has an unknown column: ' + c.name);
    if (!['text', 'opt_text', 'enum', 'fixed'].includes(c.kind)) throw new Error('unknown column kind in the map payload: ' + c.kind);
    columns[c.name] = { ...c, at: base + c.offset };
  }
  const ints = (name) => new Int32Array(buffer, columns[name].at, n);
  const codes = (name) => new Uint8Array(buffer, columns[name].at, n);

  /** {n, lat, lon: Float64Array, located: Uint8Array, source: Uint8Array, sources: [name]}:
   * slot k is row k; `located` is 1 for a located row with coordinates. */
  function points() {
    const lat = new Float64Array(n);
    const lon = new Float64Array(n);
    const located = new Uint8Array(n);
    const status = codes('status');
    const isLocated = columns.status.values.indexOf('located');
    const la = ints('lat'); const lo = ints('lon');
    const scale = columns.lat.scale;
    for (let k = 0; k < n; k++) {
      if (la[k] === FIXED_NONE || lo[k] === FIXED_NONE) continue;
      lat[k] = la[k] / scale; lon[k] = lo[k] / columns.lon.scale;
      if (status[k] === isLocated) located[k] = 1;
    }
    return { n, lat, lon, located, source: codes('source'), sources: columns.source.values };
  }

  /** The rows, in payload order; made in slices with pauses between them. */
  async function rows() {
    const slice = slicer();
    const values = new Array(header.columns.length);
    for (const name of Object.keys(columns)) {
      const c = columns[name];
      if (c.kind === 'text' || c.kind === 'opt_text') values[C[name]] = await texts(buffer, c, n, slice);
    }
    const readers = Object.values(columns).map((c) => {
      const j = C[c.name];
      switch (c.kind) {
        case 'enum': { const v = codes(c.name); return (i) => (v[i] === ENUM_NONE ? null : c.values[v[i]]); }
        case 'fixed': { const v = ints(c.name); return (i) => (v[i] === FIXED_NONE ? null : v[i] / c.scale); }
        default: { const v = values[j]; return (i) => v[i]; }
      }
    });
    const order = Object.values(columns).map((c) => C[c.name]);
    const width = order.length;
    const out = new Array(n);
    for (let start = 0; start < n; start += CHECK) {
      const end = Math.min(n, start + CHECK);
      for (let i = start; i < end; i++) {
        const row = new Array(width);
        for (let j = 0; j < width; j++) row[order[j]] = readers[j](i);
        out[i] = row;
      }
      if (slice.due()) await slice.pause();
    }
    return out;
  }

  return { header, n, points, rows };
}
