// What the server put in the page, and the page's shared state.

const meta = (name) => document.querySelector('meta[name="geolocator-' + name + '"]').content;
export const TOKEN = meta('token');
export const TILE_URL = meta('tiles');
export const TILE_ATTRIBUTION = meta('attribution');
const COLUMNS = meta('columns').split(',');
/** Column name -> index in a map row (the server's `rows.MAP_COLUMNS`). */
export const C = Object.fromEntries(COLUMNS.map((name, i) => [name, i]));
export const SOURCE_LABEL = { exif: 'EXIF', ai: 'AI estimate', manual: 'manual', track: 'GPS track', nearby: 'nearby photos', copy: 'copy of a located photo' };

export const state = {
  instance: null,
  seq: 0,
  rows: new Map(), // id -> row array (see C), in the order of the server's full answer (newest first)
  unsorted: new Set(), // ids of the rows changed since that answer (maybe out of that order)
  markers: new Map(), // id -> L.Marker of a photo on the map, made on demand (map.js replaces it)
  onMap: new Set(), // ids whose marker is in the cluster group (pass the filters)
  tab: 'photos',
  placing: null, // id waiting for a click on the map
  selected: null,
  uncertainty: null,
  dragging: null, // the marker whose pin can be dragged
  fitted: false,
  counts: null, // the header's counts, as the server sent them last
};
