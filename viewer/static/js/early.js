// Runs before the page's modules load: starts the download of the map payload, of the world
// outline (the first thing the map draws) and the two cluster workers (booting one takes a
// while), which api.js fetchPayload(), basemap.js and map.js take over.
window.geolocatorEarlyPayload = fetch('/api/map.bin').then((r) => (r.ok ? r : null), () => null);
window.geolocatorEarlyOutline = fetch('/static/vendor/world/countries-110m.geojson')
  .then((r) => (r.ok ? r.json() : null), () => null)
  .then((world) => { window.geolocatorOutline = world; return world; }); // there at once for basemap.js, when it came in time
window.geolocatorEarlyWorkers = {
  full: new Worker('/static/js/cluster-worker.js', { name: 'full' }),
  coarse: new Worker('/static/js/cluster-worker.js', { name: 'coarse' }),
};
