// Dates as the user's locale writes them (Intl.DateTimeFormat), never raw ISO strings. A capture
// time is the camera's wall clock: its fields are shown as they are, whatever the browser's zone.

// The formats are made on first use: the first one costs tens of milliseconds (the locale's data),
// which the page's first paint need not wait for.
const formats = new Map();
function format(options, timeZone = 'UTC') {
  const key = JSON.stringify(options) + (timeZone || 'local');
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(undefined, { ...options, timeZone }));
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

const CLOCK = { timeStyle: 'short' };

/** A moment of this machine's life (when a server went down), in the browser's own time zone:
 * its time of day when it is today. */
export function fmtInstant(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return format(date.toDateString() === new Date().toDateString() ? CLOCK : MOMENT, undefined).format(date);
}
