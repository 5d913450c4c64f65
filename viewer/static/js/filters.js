// The filters: which located photos are shown on the map and in its panel. The form holds the
// file-name text, the sources, the date range (the timeline's brush writes the date fields) and
// "undated only" (the photos whose file holds no capture time); a place search adds the set of
// ids whose place it names.
import { C } from './state.js';

export const filterForm = document.getElementById('filters');

let place = null; // { label, ids: Set } while a place search filters the photos

export function currentFilter() {
  const sources = new Set([...filterForm.querySelectorAll('input[name=source]:checked')].map((i) => i.value));
  const q = filterForm.elements.q.value.trim().toLowerCase();
  return {
    sources, q, from: filterForm.elements.from.value || null, to: filterForm.elements.to.value || null,
    undated: filterForm.elements.undated.checked, ids: place ? place.ids : null,
  };
}

export const nameMatches = (row, q) => !q || row[C.name].toLowerCase().includes(q);

/** Everything but the dates: what the timeline counts. */
export function passesButTime(row, f) {
  return row[C.status] === 'located' && f.sources.has(row[C.source]) && nameMatches(row, f.q)
    && (!f.ids || f.ids.has(row[C.id]));
}

export function passes(row, f) {
  if (!passesButTime(row, f)) return false;
  const date = row[C.date];
  if (f.undated) return date === null;
  if (f.from && (!date || date < f.from)) return false;
  if (f.to && (!date || date > f.to)) return false;
  return true;
}

/** Tell every listener the filters changed (after a change made by code, not by the form). */
export const filtersChanged = () => filterForm.dispatchEvent(new Event('change'));

/** Filter to the photos of a place (`ids` from the server), or stop (null). */
export function setPlace(label, ids) {
  place = label === null ? null : { label, ids: new Set(ids) };
  filtersChanged();
}

export const placeFilter = () => (place ? place.label : null);

/** Set the date range ('YYYY-MM-DD' or null each). */
export function setDates(from, to) {
  filterForm.elements.from.value = from || '';
  filterForm.elements.to.value = to || '';
  filtersChanged();
}

/** Call `onChange` when the filters change (the name field after a pause in typing). */
export function onFilterChange(onChange) {
  filterForm.addEventListener('change', onChange);
  let typing = null;
  filterForm.elements.q.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(onChange, 250);
  });
  filterForm.addEventListener('submit', (e) => e.preventDefault());
}
