// The map payload (`GET /api/map.bin`, see viewer/rows.py `map_payload`): every map row of the
// library as columns in one binary body, turned back into the rows /api/map sends.
import { C } from './state.js';

const MAGIC = 'GLM1';
const FIXED_NONE = -2147483648;
const ENUM_NONE = 255;

function column(buffer, at, c, n) {
  switch (c.kind) {
    case 'text':
    case 'opt_text': {
      if (n === 0) return [];
      const values = new TextDecoder().decode(new Uint8Array(buffer, at, c.bytes)).split('\0');
      if (values.length !== n) throw new Error('the map payload is damaged (column ' + c.name + ')');
      if (c.kind === 'opt_text') for (let i = 0; i < n; i++) if (values[i] === '') values[i] = null;
      return values;
    }
    case 'enum': {
      const codes = new Uint8Array(buffer, at, n);
      const values = new Array(n);
      for (let i = 0; i < n; i++) values[i] = codes[i] === ENUM_NONE ? null : c.values[codes[i]];
      return values;
    }
    case 'fixed': {
      const ints = new Int32Array(buffer, at, n);
      const values = new Array(n);
      for (let i = 0; i < n; i++) values[i] = ints[i] === FIXED_NONE ? null : ints[i] / c.scale;
      return values;
    }
    default:
      throw new Error('unknown column kind in the map payload: ' + c.kind);
  }
}

/** {instance, seq, full, counts, rows}: the same shape as a full answer of /api/map. */
export function decodePayload(buffer) {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== MAGIC) throw new Error('not a map payload');
  const headerBytes = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerBytes)));
  const base = Math.ceil((8 + headerBytes) / 8) * 8;
  const n = header.n;
  const columns = new Array(header.columns.length);
  for (const c of header.columns) {
    if (!(c.name in C)) throw new Error('the map payload has an unknown column: ' + c.name);
    columns[C[c.name]] = column(buffer, base + c.offset, c, n);
  }
  const width = columns.length;
  const rows = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = new Array(width);
    for (let j = 0; j < width; j++) row[j] = columns[j][i];
    rows[i] = row;
  }
  return { instance: header.instance, seq: header.seq, full: true, counts: header.counts, rows };
}
