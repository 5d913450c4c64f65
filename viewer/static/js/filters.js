// The filter form: which located photos are shown on the map (and in its list).
import { C } from './state.js';

export const filterForm = document.getElementById('filters');

export function currentFilter() {
  const sources = new Set([...filterForm.querySelectorAll('input[name=source]:checked')].map((i) => i.value));
  const q = filterForm.elements.q.value.trim().toLowerCase();
  return { sources, q, from: filterForm.elements.from.value || null, to: filterForm.elements.to.value || null };
}

export const nameMatches = (row, q) => !q || row[C.name].toLowerCase().includes(q);

export function passes(row, f) {
  if (row[C.status] !== 'located' || !f.sources.has(row[C.source]) || !nameMatches(row, f.q)) return false;
  const date = row[C.date];
  if (f.from && (!date || date < f.from)) return false;
  if (f.to && (!date || date > f.to)) return false;
  return true;
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
