// The world outline on a plain canvas before Leaflet and the page's modules are loaded and run (on
// a busy machine they take most of a second): the page carries the outline (#outline-data), so
// this draws it at once, with no request to wait for. It is the view map.js opens with (#map's
// data-view), projected as Leaflet will (Web Mercator, the container's top left at the rounded
// pixel origin); basemap.js draws the outline with Leaflet from the same data and removes this
// canvas once its own is painted. A classic script after #map: the style sheets are in when it runs.
'use strict';
(() => {
  const container = document.getElementById('map');
  const [lat, lon, zoom] = container.dataset.view.split(',').map(Number);
  const LAND = '#f3f0e8'; // basemap.js
  const world = 256 * 2 ** zoom;
  const project = (lng, la) => {
    const s = Math.sin(Math.max(-85.0511287798, Math.min(85.0511287798, la)) * Math.PI / 180);
    return [world * (lng + 180) / 360, world * (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI))];
  };
  const draw = (geojson) => {
    const width = container.clientWidth; const height = container.clientHeight;
    const ratio = window.devicePixelRatio || 1;
    const canvas = document.createElement('canvas');
    canvas.id = 'outline-sketch';
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    const [cx, cy] = project(lon, lat);
    const ox = Math.round(cx - width / 2); const oy = Math.round(cy - height / 2);
    const ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.beginPath();
    for (const feature of geojson.features) {
      const geometry = feature.geometry;
      const polygons = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
      for (const ring of polygons.flat()) {
        ring.forEach(([lng, la], k) => {
          const [x, y] = project(lng, la);
          if (k) ctx.lineTo(x - ox, y - oy); else ctx.moveTo(x - ox, y - oy);
        });
        ctx.closePath();
      }
    }
    ctx.fillStyle = LAND;
    ctx.fill('evenodd');
    ctx.strokeStyle = '#8a8f98';
    ctx.lineWidth = 0.8;
    ctx.lineJoin = 'round';
    ctx.stroke();
    container.appendChild(canvas);
    requestAnimationFrame(() => performance.mark('geolocator:outline')); // the frame that paints it
  };
  window.geolocatorOutline = JSON.parse(document.getElementById('outline-data').textContent);
  draw(window.geolocatorOutline);
})();
