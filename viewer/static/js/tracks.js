// GPS tracks as lines: one overlay a track file in a layers control, its points fetched the first
// time it is switched on (/api/tracks/<id>.geojson). New track files are picked up every minute.
/* global L */
import { map } from './map.js';

const REFRESH_MS = 60000;
const STYLE = { color: '#7b3fb5', weight: 3, opacity: 0.8 };
const shown = new Set();
let control = null;

/** Text as HTML: Leaflet's layers control writes overlay names as HTML, and a track's name comes
 * from the file. */
function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function overlayFor(track) {
  const layer = L.geoJSON(null, { style: STYLE });
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
      if (shown.has(track.id)) continue;
      shown.add(track.id);
      control = control || L.control.layers(null, null, { collapsed: true, position: 'topright' }).addTo(map);
      const day = track.start ? ' (' + track.start.slice(0, 10) + ')' : '';
      control.addOverlay(overlayFor(track), escapeHtml('Track: ' + track.name + day));
    }
  } catch (err) {
    // the daemon is restarting: try again at the next refresh
  }
}

export function initTracks() {
  refresh();
  setInterval(refresh, REFRESH_MS);
}
