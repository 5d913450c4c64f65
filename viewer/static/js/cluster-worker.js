// The cluster index, off the page's thread: supercluster over the photos shown on the map.
// Points are numbered by the page (k, their slot); the page sends their coordinates and which are
// shown, and asks for what to draw in a view. Every answer carries the `version` of the points
// it was built from, so the page knows when an answer includes what it sent.
//
//   load   {lat, lon: Float64Array, on: Uint8Array, n, version, maxZoom}   every point (replaces all)
//   points {ks: Int32Array, lat, lon: Float64Array, on: Uint8Array, version}   changed points
//   mask   {on: Uint8Array, version}                                which points are shown
//   query  {id, bbox, zoom} -> {id, version, items: Float64Array of (lon, lat, count, k or cluster id)}
//   expand {id, cluster, build} -> {id, zoom}: where a cluster splits (null if the index changed)
//   reveal {id, k, zoom} -> {id, zoom}: the first zoom from `zoom` at which point k is drawn alone
// and, after each (re)build, {type: 'built', version, build, points, zoom, ms}.
/* global Supercluster */
/* eslint-env worker */
importScripts('/static/vendor/supercluster/supercluster.min.js');

// Pixels of Leaflet's 256-px tiles. `maxZoom` comes with the points: the page's full index clusters
// down to zoom 18 (at the map's last zoom, 19, every photo is drawn alone); for a large library a
// second worker indexes only down to a coarse zoom, which takes a fraction of the time.
const OPTIONS = { radius: 60, extent: 256, maxZoom: 18, minPoints: 2 };

let lat = new Float64Array(0);
let lon = new Float64Array(0);
let on = new Uint8Array(0);
let n = 0;
let version = 0; // of the points as received
let builtVersion = 0; // of the points the index was built from
let build = 0;
let index = null;
let previous = null; // {build, index}: a click on a cluster drawn just before a rebuild still expands (for 2 s)
let pending = false;
let lastMs = 0; // how long the last build took

function grow(size) {
  if (size <= lat.length) return;
  const capacity = Math.max(size, Math.ceil(lat.length * 1.5), 1024);
  const more = (old, Type) => { const next = new Type(capacity); next.set(old); return next; };
  lat = more(lat, Float64Array); lon = more(lon, Float64Array); on = more(on, Uint8Array);
}

// Supercluster.load (9.1.0) reads `length` and iterates the features, keeping of each only its
// coordinates and `properties`: one feature refilled at each step does, instead of a million
// objects made and collected (a third of the time of a coarse index).
function features(ks, count) {
  const feature = { type: 'Feature', geometry: { type: 'Point', coordinates: [0, 0] }, properties: 0 };
  const at = feature.geometry.coordinates;
  return {
    length: count,
    * [Symbol.iterator]() {
      for (let i = 0; i < count; i++) {
        const k = ks[i];
        at[0] = lon[k]; at[1] = lat[k]; feature.properties = k;
        yield feature;
      }
    },
  };
}

function rebuild() {
  pending = false;
  const started = performance.now();
  const ks = new Int32Array(n);
  let count = 0;
  for (let k = 0; k < n; k++) if (on[k]) ks[count++] = k;
  const points = features(ks, count);
  previous = { build, index };
  index = new Supercluster(OPTIONS).load(points);
  builtVersion = version;
  build += 1;
  lastMs = performance.now() - started;
  postMessage({ type: 'built', version, build, points: points.length, ms: Math.round(lastMs) });
  const kept = previous;
  setTimeout(() => { if (previous === kept) previous = null; }, 2000); // the page has drawn the new one by then
}

// Changes that arrive together are indexed once. A photo filed while a big index is being built waits for it: each rebuild waits as long as the
// last one took (at most 10 s), so a stream of new photos never keeps this worker busy for good.
function later(throttled) {
  if (!pending) { pending = true; setTimeout(rebuild, throttled ? Math.min(lastMs, 10000) : 0); }
}

function query(bbox, zoom) {
  const features = index ? index.getClusters(bbox, zoom) : [];
  const items = new Float64Array(features.length * 4);
  features.forEach((f, i) => {
    const [x, y] = f.geometry.coordinates;
    const p = f.properties;
    items.set(typeof p === 'number' ? [x, y, 1, p] : [x, y, p.point_count, p.cluster_id], i * 4);
  });
  return items;
}

function expansionZoom(cluster, ofBuild) {
  const of = ofBuild === build ? index : previous && ofBuild === previous.build ? previous.index : null;
  if (!of) return null;
  try {
    return of.getClusterExpansionZoom(cluster);
  } catch (err) {
    return null; // not a cluster of this index
  }
}

function revealZoom(k, zoom) {
  if (!index || k >= n || !on[k]) return null;
  const d = 1e-5; // degrees: wider than the index's precision (360 / 2^30)
  for (let z = Math.max(0, Math.floor(zoom)); z <= OPTIONS.maxZoom; z++) {
    const near = index.getClusters([lon[k] - d, lat[k] - d, lon[k] + d, lat[k] + d], z);
    if (near.some((f) => f.properties === k)) return z;
  }
  return OPTIONS.maxZoom + 1;
}

self.onmessage = ({ data: m }) => {
  switch (m.type) {
    case 'load':
      OPTIONS.maxZoom = m.maxZoom;
      lat = m.lat; lon = m.lon; on = m.on; n = m.n; version = m.version;
      rebuild(); // the first paint waits for this one: no need to gather more
      break;
    case 'points':
      for (let i = 0; i < m.ks.length; i++) {
        const k = m.ks[i];
        grow(k + 1);
        n = Math.max(n, k + 1);
        lat[k] = m.lat[i]; lon[k] = m.lon[i]; on[k] = m.on[i];
      }
      version = m.version;
      later(true);
      break;
    case 'mask':
      grow(m.on.length);
      on.fill(0);
      on.set(m.on);
      version = m.version;
      later(false);
      break;
    case 'query': {
      const items = query(m.bbox, m.zoom);
      postMessage({ id: m.id, version: builtVersion, build, items }, [items.buffer]);
      break;
    }
    case 'expand':
      postMessage({ id: m.id, zoom: expansionZoom(m.cluster, m.build) });
      break;
    case 'reveal':
      postMessage({ id: m.id, zoom: revealZoom(m.k, m.zoom) });
      break;
    default:
      throw new Error('unknown message: ' + m.type);
  }
};
