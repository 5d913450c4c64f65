// The map payload (`GET /api/map.bin`, see viewer/rows.py `map_payload`): every map row of the
// library as columns in one binary body, newest first. `receivePayload` reads it as it arrives;
// the points (coordinates and which rows are located, by source) come straight from the typed
// columns sent first, so the map clusters them while the rest comes; the rows /api/map sends are
// made afterwards, in slices that leave the page responsive between them (a million rows take
// seconds).
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

let urgent = 0; // things the user asked for, under way
let afterUrgent = [];

/** Something the user asked for is under way: slices wait until the function returned is called. */
export function urgently() {
  urgent += 1;
  let called = false;
  return () => {
    if (called) return;
    called = true;
    urgent -= 1;
    if (urgent) return;
    const waiting = afterUrgent;
    afterUrgent = [];
    for (const resolve of waiting) resolve();
  };
}

/** A pause once `SLICE_MS` have passed since the last one: `if (slice.due()) await slice.pause()`.
 * While something urgent is under way, the pause lasts until it is done. */
export function slicer() {
  let since = performance.now();
  return {
    due: () => performance.now() - since > SLICE_MS,
    pause: async () => {
      await pause();
      while (urgent) await new Promise((resolve) => afterUrgent.push(resolve));
      since = performance.now();
    },
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

const POINT_COLUMNS = ['status', 'source', 'lat', 'lon']; // sent first (rows.POINT_COLUMNS)
const ceil8 = (x) => Math.ceil(x / 8) * 8;

/** The header and where the sections start, from the body's first bytes; null while they are not all in. */
function readHeader(bytes) {
  if (bytes.length < 8) return null;
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) throw new Error('not a map payload');
  const headerBytes = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
  if (bytes.length < 8 + headerBytes) return null;
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  return { header, base: ceil8(8 + headerBytes) };
}

/** The whole body's size, from its header. */
const bodySize = ({ header, base }) => base + Math.max(0, ...header.columns.map((c) => c.offset + ceil8(c.bytes)));

/** Read the payload from the response as it arrives: `onPoints(payload)` as soon as the points'
 * columns are in (the server sends them first), then resolves to the opened payload. */
export async function receivePayload(response, onPoints) {
  if (!response.body) {
    const payload = openPayload(await response.arrayBuffer());
    onPoints(payload);
    return payload;
  }
  const reader = response.body.getReader();
  let head = new Uint8Array(0); // the first chunks, until the header is in
  let bytes = null; // the whole body, once its size is known
  let got = 0;
  let opened = null;
  let payload = null; // once the points are in
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (bytes) {
      if (got + value.length > bytes.length) throw new Error('the map payload is damaged (too long)');
      bytes.set(value, got);
    } else {
      const more = new Uint8Array(head.length + value.length);
      more.set(head); more.set(value, head.length);
      head = more;
      const start = readHeader(head);
      if (start) {
        bytes = new Uint8Array(bodySize(start));
        if (head.length > bytes.length) throw new Error('the map payload is damaged (too long)');
        bytes.set(head);
        head = null;
      }
    }
    got += value.length;
    if (bytes && !payload) {
      opened = opened || openPayload(bytes.buffer);
      if (got >= opened.pointsEnd) { payload = opened; onPoints(payload); }
    }
  }
  if (!bytes || got !== bytes.length) throw new Error('the map payload is damaged (cut short)');
  return payload;
}

/** An opened payload: {header, n, pointsEnd, points(), rows()}: the points can be read once the
 * body's first `pointsEnd` bytes are in, the rows once all are. */
export function openPayload(buffer) {
  const { header, base } = readHeader(new Uint8Array(buffer)) || {};
  if (!header) throw new Error('the map payload is damaged (no header)');
  const n = header.n;
  const columns = {};
  for (const c of header.columns) {
    if (!(c.name in C)) throw new Error('the map payload has an unknown column: ' + c.name);
    if (!['text', 'opt_text', 'enum', 'fixed'].includes(c.kind)) throw new Error('unknown column kind in the map payload: ' + c.kind);
    columns[c.name] = { ...c, at: base + c.offset };
  }
  for (const name of POINT_COLUMNS) if (!columns[name]) throw new Error('the map payload has no column ' + name);
  const pointsEnd = Math.max(...POINT_COLUMNS.map((name) => columns[name].at + columns[name].bytes));
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

  return { header, n, pointsEnd, points, rows };
}
