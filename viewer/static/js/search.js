// Search: typing filters by file name (filters.js); Enter asks the offline gazetteer whether the
// text is a place (a town, a region, a country: "Lisbon", "Tuscany", "Peru", "Tuscany, Italy"; which
// of the places sharing a name it means is the server's rule, `Gazetteer.search`). If it is, the
// map flies there at a zoom that fits the place, and hides nothing: a chip names the place and
// offers to show only the photos whose place names it, as an explicit choice (× forgets the place).
// A new search replaces the chip and its filter. If the text is no place, it stays a file-name filter.
/* global L */
import * as api from './api.js';
import { el, notice, sheetCover } from './dom.js';
import { filterForm, filtersChanged, setPlace } from './filters.js';
import { map } from './map.js';

const chips = document.getElementById('place-chip');
let filtering = false; // the photos are filtered to the chip's place

/** The chip of the place found last (null: none); `filtering`: only its photos are shown. */
function showChip(found, only) {
  chips.replaceChildren();
  chips.hidden = found === null;
  if (only || filtering) setPlace(only ? found.match.label : null, only ? found.ids : []);
  filtering = only;
  if (found === null) { delete document.body.dataset.place; return; }
  document.body.dataset.place = found.match.label;
  const toggle = only
    ? el('button', { type: 'button', class: 'chip on', title: 'Show the photos of every place', onclick: () => showChip(found, false) },
      '✓ Only photos here')
    : el('button', { type: 'button', class: 'chip', title: 'Show only the photos whose place names it', onclick: () => showChip(found, true) },
      'Only photos here');
  chips.append(
    el('span', { class: 'place-name', title: found.match.label }, found.match.label), ' ', toggle,
    el('button', { type: 'button', class: 'chip-x', title: 'Forget this place', 'aria-label': 'Forget this place', onclick: () => showChip(null, false) }, '×'),
  );
}

async function search() {
  const input = filterForm.elements.q;
  const q = input.value.trim();
  if (!q) return;
  showChip(null, false); // a new search replaces the last place and its filter
  let found;
  try {
    found = await api.fetchPlace(q);
  } catch (err) {
    notice('Could not search for places: ' + err.message);
    return;
  }
  if (!found.match) {
    notice('No place called “' + q + '”: showing the photos whose file name has it.');
    return;
  }
  const m = found.match;
  input.value = ''; // the text named a place, not a file
  filtersChanged();
  showChip(found, false);
  // The place's whole extent in view: a region's box of its towns (the server's), else the circle
  // its radius draws about its point (a town's few kilometres, a country's main part).
  const bounds = m.bounds ? L.latLngBounds(m.bounds) : L.latLng(m.lat, m.lon).toBounds(Math.max(2, m.radius_km) * 2000);
  // On a phone, above the sheet: the place in the part of the map that shows.
  map.flyToBounds(bounds, { maxZoom: 14, duration: 0.8, paddingBottomRight: [0, sheetCover()] });
}

export function initSearch() {
  // Enter in the field (the form has several text-like fields, so no implicit submit).
  filterForm.elements.q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); search(); } });
  filterForm.elements.q.addEventListener('search', () => { if (!filterForm.elements.q.value) filtersChanged(); });
}
