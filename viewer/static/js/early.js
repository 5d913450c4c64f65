// Starts the download of the map payload while the page's modules are still loading; api.js
// fetchPayload() takes it over (or fetches again if this one failed).
window.geolocatorEarlyPayload = fetch('/api/map.bin').then((r) => (r.ok ? r : null), () => null);
