// GPS tracks as lines: one overlay a track file in a layers control, its points fetched the first
// time it is switched on (/api/tracks/<id>.geojson). New track files are picked up every minute.
// While a camera's clock is being fixed (clock.js), the tracks of the photo's days are shown, drawn
// wider, and a click on one says which track and where (`listenForTrackClicks`).
/* global L */
import { map } from './map.js';

const REFRESH_MS = 60000;
const STYLE = { color: '#7b3fb5', weight: 3, opacity: 0.8 };
const WIDE = { weight: 9 }; // easy to click on
const DAY_MS = 86400000;
const overlays = new Map(); // track id -> {track, layer}
let control = null;
let onTrackClick = null; // (trackId, latlng) while a clock is being fixed

/** Text as HTML: Leaflet's layers control writes overlay names as HTML, and a track's name comes
 * from the file. */
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function overlayFor(track) {
  const layer = L.geoJSON(null, {
    style: () => (onTrackClick ? { ...STYLE, ...WIDE } : STYLE),
    onEachFeature: (feature, line) => line.on('click', (e) => {
      if (!onTrackClick) return;
      L.DomEvent.stop(e);
      onTrackClick(track.id, e.latlng);
    }),
  });
  let loaded = false;
  layer.on('add', async () => {
    if (loaded) return;
    loaded = true;
    const response = await fetch('/api/tracks/' + encodeURIComponent(track.id) + '.geojson');
    if (!response.ok) { loaded = false; return; }
    layer.addData(await response.json());
    const bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { maxZoom: 15 });
  });
  return layer;
}

async function refresh() {
  try {
    const response = await fetch('/api/tracks');
    if (!response.ok) return;
    for (const track of await response.json()) {
      if (overlays.has(track.id)) continue;
      const layer = overlayFor(track);
      overlays.set(track.id, { track, layer });
      control = control || L.control.layers(null, null, { collapsed: true, position: 'topright' }).addTo(map);
      const day = track.start ? ' (' + track.start.slice(0, 10) + ')' : '';
      control.addOverlay(layer, escapeHtml('Track: ' + track.name + day));
    }
  } catch (err) {
    // the daemon is restarting: try again at the next refresh
  }
}

/** Show the tracks recorded within a day of `day` ('2024-06-01'); resolves to how many there are. */
export async function showTracksAround(day) {
  await refresh();
  const at = Date.parse(day + 'T12:00:00Z');
  let shown = 0;
  for (const { track, layer } of overlays.values()) {
    const start = Date.parse(track.start);
    const end = Date.parse(track.end || track.start);
    if (Number.isNaN(at) || end < at - 1.5 * DAY_MS || start > at + 1.5 * DAY_MS) continue;
    if (!map.hasLayer(layer)) map.addLayer(layer);
    shown += 1;
  }
  return shown;
}

/** Call `handler(trackId, latlng)` on a click on a track line (null: stop); the lines are drawn wider meanwhile. */
export function listenForTrackClicks(handler) {
  onTrackClick = handler;
  for (const { layer } of overlays.values()) layer.setStyle(handler ? { ...STYLE, ...WIDE } : STYLE);
}

export function initTracks() {
  refresh();
  setInterval(refresh, REFRESH_MS);
}
