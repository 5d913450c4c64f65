// Search: typing filters by file name (filters.js); Enter asks the offline gazetteer whether the
// text is a place. If it is, the map flies there and shows only the photos whose place names it
// (a chip says so and clears it); if not, the text stays a file-name filter.
/* global L */
import * as api from './api.js';
import { el, notice } from './dom.js';
import { filterForm, filtersChanged, setPlace } from './filters.js';
import { map } from './map.js';

const chips = document.getElementById('place-chip');

function showChip(label) {
  chips.replaceChildren();
  chips.hidden = label === null;
  if (label === null) return;
  chips.append(el('button', { type: 'button', class: 'chip', title: 'Show every place', onclick: () => { showChip(null); setPlace(null); } },
    el('span', {}, 'Place: '), el('strong', {}, label), el('span', { class: 'x', 'aria-hidden': 'true' }, ' ×')));
}

async function search() {
  const input = filterForm.elements.q;
  const q = input.value.trim();
  if (!q) return;
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
  input.value = ''; // the place filters now, not the name
  showChip(m.label);
  setPlace(m.label, found.ids);
  const bounds = L.latLng(m.lat, m.lon).toBounds(Math.max(2, m.radius_km) * 2000);
  map.flyToBounds(bounds, { maxZoom: 13, duration: 0.8 });
  document.body.dataset.place = m.label;
}

export function initSearch() {
  // Enter in the field (the form has several text-like fields, so no implicit submit).
  filterForm.elements.q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); search(); } });
  filterForm.elements.q.addEventListener('search', () => { if (!filterForm.elements.q.value) filtersChanged(); });
}
