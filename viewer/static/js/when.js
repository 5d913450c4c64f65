// Dates as the user's locale writes them (Intl.DateTimeFormat), never raw ISO strings. A capture
// time is the camera's wall clock: its fields are shown as they are, whatever the browser's zone.

// The formats are made on first use: the first one costs tens of milliseconds (the locale's data),
// which the page's first paint need not wait for.
const formats = new Map();
function format(options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(undefined, { ...options, timeZone: 'UTC' }));
  return formats.get(key);
}
const DAY = { dateStyle: 'medium' };
const MONTH = { year: 'numeric', month: 'short' };
const MOMENT = { dateStyle: 'medium', timeStyle: 'short' };
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/;

function wallClock(iso) {
  const m = ISO.exec(iso || '');
  if (!m) return null;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)));
  return Number.isNaN(date.getTime()) ? null : { date, timed: m[4] !== undefined };
}

/** '2021-05-01' (or a full capture time) as the locale writes the day; '' when there is none. */
export function fmtDay(iso) {
  const t = wallClock(iso);
  return t ? format(DAY).format(t.date) : '';
}

/** A capture time with its hour when it has one. */
export function fmtTaken(iso) {
  const t = wallClock(iso);
  if (!t) return iso || '';
  return format(t.timed ? MOMENT : DAY).format(t.date);
}

/** Month `index` counted from January of year 0 (year * 12 + month - 1). */
export const fmtMonth = (index) => format(MONTH).format(new Date(Date.UTC(Math.floor(index / 12), index % 12, 1)));
