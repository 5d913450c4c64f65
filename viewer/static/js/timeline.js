// The timeline: a histogram of capture dates (by month, by year past ten years) of the photos that
// pass the other filters. Dragging across it (or clicking one bar) chooses a date range, written
// into the form's from/to fields, which filter the map and the panel; "All dates" clears it.
// Days a camera clock got wrong (after tomorrow, before 1990: the rows' "clock") stay out of its
// range, as the undated photos do; the label counts both.
import { currentFilter, filterForm, passesButTime, setDates } from './filters.js';
import { C, state } from './state.js';
import { fmtMonth } from './when.js';

const canvas = document.getElementById('timeline');
const label = document.getElementById('time-range');
const clear = document.getElementById('time-clear');
const ctx = canvas.getContext('2d');

let bins = []; // { start, months, count }: month indexes (year * 12 + month - 1)
let aside = { undated: 0, clock: 0 }; // photos passing the other filters that the bins leave out
let key = null;
let drag = null; // { from, to } bin indexes while brushing

const monthOf = (date) => +date.slice(0, 4) * 12 + +date.slice(5, 7) - 1;
const dayOf = (index) => String(Math.floor(index / 12)).padStart(4, '0') + '-' + String((index % 12) + 1).padStart(2, '0');
const lastDay = (index) => dayOf(index) + '-' + String(new Date(Date.UTC(Math.floor(index / 12), (index % 12) + 1, 0)).getUTCDate()).padStart(2, '0');

function count() {
  const f = currentFilter();
  const months = new Map();
  aside = { undated: 0, clock: 0 };
  for (const row of state.rows.values()) {
    if (!passesButTime(row, f)) continue;
    const date = row[C.date];
    if (date === null) aside.undated += 1;
    else if (row[C.clock]) aside.clock += 1;
    else {
      const m = monthOf(date);
      months.set(m, (months.get(m) || 0) + 1);
    }
  }
  if (!months.size) return [];
  const first = Math.min(...months.keys());
  const last = Math.max(...months.keys());
  const step = last - first >= 120 ? 12 : 1;
  const start = step === 12 ? first - (first % 12) : first;
  const out = [];
  for (let m = start; m <= last; m += step) {
    let n = 0;
    for (let k = m; k < m + step; k++) n += months.get(k) || 0;
    out.push({ start: m, months: step, count: n });
  }
  return out;
}

/** The bins' range that the form's dates select, as bin indexes, or null for all dates. */
function selected() {
  const from = filterForm.elements.from.value;
  const to = filterForm.elements.to.value;
  if (drag) return [Math.min(drag.from, drag.to), Math.max(drag.from, drag.to)];
  if (!from && !to) return null;
  const lo = from ? monthOf(from) : -Infinity;
  const hi = to ? monthOf(to) : Infinity;
  const inside = bins.map((b, i) => (b.start + b.months - 1 >= lo && b.start <= hi ? i : -1)).filter((i) => i >= 0);
  return inside.length ? [inside[0], inside[inside.length - 1]] : [-1, -1];
}

function draw() {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const range = filterForm.elements.undated.checked ? [-1, -1] : selected(); // no date chosen: every bar dimmed
  const max = Math.max(1, ...bins.map((b) => b.count));
  const w = width / Math.max(1, bins.length);
  bins.forEach((b, i) => {
    const h = b.count ? Math.max(2, (b.count / max) * (height - 2)) : 0;
    ctx.fillStyle = !range || (i >= range[0] && i <= range[1]) ? '#1f6feb' : '#c5d3e8';
    ctx.fillRect(i * w + (w > 3 ? 0.5 : 0), height - h, Math.max(1, w - (w > 3 ? 1 : 0)), h);
  });
  describe(range);
}

/** ' · 3 undated · 1 camera clock?': the photos the bins leave out. */
function leftOut() {
  return (aside.undated ? ' · ' + aside.undated.toLocaleString() + ' undated' : '')
    + (aside.clock ? ' · ' + aside.clock.toLocaleString() + ' camera clock?' : '');
}

function describe(range) {
  const from = filterForm.elements.from.value;
  const to = filterForm.elements.to.value;
  if (filterForm.elements.undated.checked) {
    label.textContent = 'Undated photos only (' + aside.undated.toLocaleString() + ')';
    clear.hidden = false;
    return;
  }
  if (!bins.length) { label.textContent = 'No dates' + leftOut(); clear.hidden = true; return; }
  clear.hidden = !from && !to && !drag;
  if (!range) {
    label.textContent = fmtMonth(bins[0].start) + ' – ' + fmtMonth(bins[bins.length - 1].start + bins[bins.length - 1].months - 1) + leftOut();
    return;
  }
  if (range[0] < 0) { label.textContent = 'No photos in the chosen dates'; return; }
  const a = bins[range[0]];
  const b = bins[range[1]];
  const n = bins.slice(range[0], range[1] + 1).reduce((sum, bin) => sum + bin.count, 0);
  const first = fmtMonth(a.start);
  const last = fmtMonth(b.start + b.months - 1);
  label.textContent = (first === last ? first : first + ' – ' + last) + ' · ' + n.toLocaleString() + (n === 1 ? ' photo' : ' photos');
}

/** Count again when the rows or the other filters changed; redraw. */
export function refreshTimeline() {
  const f = currentFilter();
  const now = [state.seq, state.rows.size, [...f.sources].join(), f.q, f.ids ? f.ids.size + ':' + [...f.ids].slice(0, 3).join() : ''].join('|');
  if (now !== key) { key = now; bins = count(); }
  draw();
}

function binAt(event) {
  const rect = canvas.getBoundingClientRect();
  const i = Math.floor(((event.clientX - rect.left) / rect.width) * bins.length);
  return Math.max(0, Math.min(bins.length - 1, i));
}

export function initTimeline() {
  canvas.addEventListener('pointerdown', (e) => {
    if (!bins.length) return;
    canvas.setPointerCapture(e.pointerId);
    const i = binAt(e);
    drag = { from: i, to: i };
    draw();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    drag.to = binAt(e);
    draw();
  });
  const finish = () => {
    if (!drag) return;
    const a = bins[Math.min(drag.from, drag.to)];
    const b = bins[Math.max(drag.from, drag.to)];
    drag = null;
    filterForm.elements.undated.checked = false; // a range of days: dated photos
    setDates(dayOf(a.start) + '-01', lastDay(b.start + b.months - 1));
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', () => { drag = null; draw(); });
  clear.addEventListener('click', () => { filterForm.elements.undated.checked = false; setDates(null, null); });
  new ResizeObserver(draw).observe(canvas);
}
