// Runs before the page's modules load: starts the download of the map payload and the two
// cluster workers (booting one takes a while), which api.js fetchPayload() and map.js take over.
window.geolocatorEarlyPayload = fetch('/api/map.bin').then((r) => (r.ok ? r : null), () => null);
window.geolocatorEarlyWorkers = {
  full: new Worker('/static/js/cluster-worker.js', { name: 'full' }),
  coarse: new Worker('/static/js/cluster-worker.js', { name: 'coarse' }),
};
