/* geolocator map page. No HTML strings built from data: every value from the store is put in
 * the page with textContent or as a DOM property, and Leaflet popups get DOM nodes. */
(function () {
  'use strict';

  const meta = (name) => document.querySelector('meta[name="geolocator-' + name + '"]').content;
  const TOKEN = meta('token');
  const TILE_URL = meta('tiles');
  const TILE_ATTRIBUTION = meta('attribution');
  const COLUMNS = meta('columns').split(',');
  const C = Object.fromEntries(COLUMNS.map((name, i) => [name, i])); // column name -> index
  const POLL_MS = 4000;
  const ROW_PX = 46;
  const SOURCE_LABEL = { exif: 'EXIF', ai: 'AI estimate', manual: 'manual' };

  const state = {
    instance: null,
    seq: 0,
    rows: new Map(), // id -> row array (see COLUMNS)
    markers: new Map(), // id -> L.Marker, located rows only
    onMap: new Set(), // ids whose marker is in the cluster group (pass the filters)
    tab: 'photos',
    placing: null, // id waiting for a click on the map
    selected: null,
    uncertainty: null,
    dragging: null, // the marker whose pin can be dragged
    fitted: false,
  };

  // -- DOM helper: text only, never markup ---------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === 'class') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function notice(text, sticky) {
    const box = document.getElementById('notice');
    box.textContent = text;
    box.hidden = !text;
    clearTimeout(notice.timer);
    if (text && !sticky) notice.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // -- the map -------------------------------------------------------------------------------
  const map = L.map('map', { worldCopyJump: true, minZoom: 1, maxZoom: 19 }).setView([25, 0], 2);
  // The world outline sits under the tiles: hidden by them when they load, the map when they don't.
  map.createPane('outline').style.zIndex = 150;
  fetch('/static/vendor/world/countries-110m.geojson')
    .then((r) => r.json())
    .then((world) => {
      L.geoJSON(world, {
        pane: 'outline', interactive: false, renderer: L.svg({ pane: 'outline' }),
        style: { color: '#8a8f98', weight: 0.8, fillColor: '#f3f0e8', fillOpacity: 1 },
      }).addTo(map);
      document.body.dataset.outline = 'ready';
    })
    .catch(() => { document.body.dataset.outline = 'failed'; });

  if (TILE_URL) {
    let failedTiles = 0;
    const tiles = L.tileLayer(TILE_URL, { attribution: TILE_ATTRIBUTION, maxZoom: 19 });
    tiles.on('tileerror', () => {
      failedTiles += 1;
      if (failedTiles === 1) {
        document.body.dataset.tiles = 'failed';
        notice('Map tiles cannot be loaded: showing the built-in world outline.');
      }
    });
    tiles.on('tileload', () => { document.body.dataset.tiles = 'ok'; });
    tiles.addTo(map);
  } else {
    map.attributionControl.addAttribution('World outline: Natural Earth');
  }

  const ICONS = {};
  for (const source of ['exif', 'ai', 'manual', 'none']) {
    ICONS[source] = L.divIcon({ className: 'photo-marker ' + source, iconSize: [14, 14], iconAnchor: [7, 7], popupAnchor: [0, -6] });
  }

  // addLayers() has no completion callback: chunkProgress reports the last chunk.
  const afterAdd = [];
  const cluster = L.markerClusterGroup({
    // 100k markers take seconds to cluster: work in slices so the page stays responsive, and
    // don't sleep between slices (the default 50 ms pause costs a second at 100k).
    chunkedLoading: true,
    chunkInterval: 200,
    chunkDelay: 1,
    // Fewer zoom levels to index: from 17 on, photos are shown one by one (spiderfied if stacked).
    disableClusteringAtZoom: 17,
    chunkProgress: (done, total) => {
      if (done === total) afterAdd.splice(0).forEach((fn) => fn());
    },
    showCoverageOnHover: false,
    maxClusterRadius: 70,
    spiderfyOnMaxZoom: true,
    removeOutsideVisibleBounds: true,
  });
  cluster.on('click', (e) => select(e.layer.photoId, false));
  cluster.addTo(map);

  function markerFor(row) {
    const marker = L.marker([row[C.lat], row[C.lon]], { icon: ICONS[row[C.source]] || ICONS.none, keyboard: false });
    marker.photoId = row[C.id];
    return marker;
  }

  // -- filters -------------------------------------------------------------------------------
  const filterForm = document.getElementById('filters');
  function currentFilter() {
    const sources = new Set([...filterForm.querySelectorAll('input[name=source]:checked')].map((i) => i.value));
    const q = filterForm.elements.q.value.trim().toLowerCase();
    return { sources, q, from: filterForm.elements.from.value || null, to: filterForm.elements.to.value || null };
  }
  const nameMatches = (row, q) => !q || row[C.name].toLowerCase().includes(q);
  function passes(row, f) {
    if (row[C.status] !== 'located' || !f.sources.has(row[C.source]) || !nameMatches(row, f.q)) return false;
    const date = row[C.date];
    if (f.from && (!date || date < f.from)) return false;
    if (f.to && (!date || date > f.to)) return false;
    return true;
  }

  /** Bring the cluster group in line with the filters; only the difference is added/removed. */
  function syncMarkers(done) {
    const f = currentFilter();
    const add = [];
    const remove = [];
    for (const [id, marker] of state.markers) {
      const want = passes(state.rows.get(id), f);
      if (want && !state.onMap.has(id)) { add.push(marker); state.onMap.add(id); }
      else if (!want && state.onMap.has(id)) { remove.push(marker); state.onMap.delete(id); }
    }
    if (remove.length) cluster.removeLayers(remove);
    document.getElementById('shown').textContent = state.onMap.size.toLocaleString() + ' shown on the map';
    if (add.length) {
      if (done) afterAdd.push(done);
      cluster.addLayers(add);
    } else if (done) {
      done();
    }
  }

  // -- lists ---------------------------------------------------------------------------------
  const byDateDesc = (a, b) => ((b[C.date] || '') < (a[C.date] || '') ? -1 : (b[C.date] || '') > (a[C.date] || '') ? 1
    : a[C.name] < b[C.name] ? -1 : a[C.name] > b[C.name] ? 1 : 0);

  function listItems() {
    const rows = [...state.rows.values()];
    if (state.tab === 'photos') return [...state.onMap].map((id) => state.rows.get(id)).sort(byDateDesc);
    const wanted = state.tab === 'failed' ? ['failed'] : ['unlocated', 'pending'];
    const q = currentFilter().q;
    return rows.filter((r) => wanted.includes(r[C.status]) && nameMatches(r, q)).sort(byDateDesc);
  }

  /** A list that only ever holds the rows in view: 100k photos, a few dozen DOM nodes. */
  class VirtualList {
    constructor(box) {
      this.box = box;
      this.space = box.querySelector('.vlist-space');
      this.items = [];
      this.nodes = new WeakMap(); // row array -> its button
      box.addEventListener('click', (e) => {
        const row = e.target.closest('.vrow');
        if (row) select(row.dataset.id, true);
      });
      box.addEventListener('scroll', () => this.draw(), { passive: true });
      new ResizeObserver(() => this.draw()).observe(box);
    }
    setItems(items) {
      this.items = items;
      this.space.style.height = items.length * ROW_PX + 'px';
      this.box.dataset.total = String(items.length);
      this.draw();
    }
    draw() {
      const first = Math.max(0, Math.floor(this.box.scrollTop / ROW_PX) - 4);
      const last = Math.min(this.items.length, first + Math.ceil(this.box.clientHeight / ROW_PX) + 8);
      const nodes = [];
      for (let i = first; i < last; i++) {
        const row = this.items[i];
        // Reuse the node of an unchanged row: a redraw never swaps the node under the pointer.
        let node = this.nodes.get(row);
        if (!node) { node = this.row(row); this.nodes.set(row, node); }
        node.style.transform = 'translateY(' + i * ROW_PX + 'px)';
        node.classList.toggle('selected', row[C.id] === state.selected);
        nodes.push(node);
      }
      if (!this.items.length) nodes.push(el('p', { class: 'empty' }, 'Nothing here.'));
      // Touch only what changed: a node that stays is never detached (a click on it survives).
      const keep = new Set(nodes);
      for (const child of [...this.space.children]) if (!keep.has(child)) child.remove();
      for (const node of nodes) if (node.parentNode !== this.space) this.space.append(node);
    }
    row(r) {
      const status = r[C.status];
      const detail = status === 'located'
        ? [r[C.date] || 'no date', ' · ', SOURCE_LABEL[r[C.source]] || '']
        : [status === 'pending' ? 'pending: ' : '', r[C.error] || status];
      return el('button', { type: 'button', class: 'vrow', dataset: { id: r[C.id] } },
        el('span', { class: 'photo-marker ' + (status === 'located' ? r[C.source] || 'none' : 'none') }),
        el('span', { class: 'vrow-text' }, el('span', { class: 'vrow-name' }, r[C.name]), el('span', { class: 'vrow-detail' }, ...detail)));
    }
  }
  const list = new VirtualList(document.getElementById('list'));
  const refreshList = () => list.setItems(listItems());

  for (const tab of document.querySelectorAll('#tabs [data-tab]')) {
    tab.addEventListener('click', () => {
      state.tab = tab.dataset.tab;
      for (const t of document.querySelectorAll('#tabs [data-tab]')) t.setAttribute('aria-selected', String(t === tab));
      list.box.scrollTop = 0;
      refreshList();
    });
  }
  filterForm.addEventListener('change', () => syncMarkers(refreshList));
  let typing = null;
  filterForm.elements.q.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => syncMarkers(refreshList), 250);
  });
  filterForm.addEventListener('submit', (e) => e.preventDefault());

  // -- counts --------------------------------------------------------------------------------
  function showCounts(counts) {
    if (!counts) return;
    for (const dd of document.querySelectorAll('#counts [data-count]')) {
      dd.textContent = (counts[dd.dataset.count] || 0).toLocaleString();
    }
  }

  // -- data ----------------------------------------------------------------------------------
  function apply(data) {
    if (data.full) {
      cluster.clearLayers();
      state.rows.clear(); state.markers.clear(); state.onMap.clear();
    }
    for (const row of data.rows) {
      const id = row[C.id];
      if (state.onMap.has(id)) { cluster.removeLayer(state.markers.get(id)); state.onMap.delete(id); }
      state.markers.delete(id);
      state.rows.set(id, row);
      if (row[C.status] === 'located' && row[C.lat] !== null) state.markers.set(id, markerFor(row));
    }
    if (data.full) performance.mark('geolocator:markers');
    state.instance = data.instance;
    state.seq = data.seq;
    showCounts(data.counts);
    return new Promise((resolve) => syncMarkers(() => { refreshList(); resolve(); }));
  }

  /** Frame the photos once, before the markers go in, so clusters are built for the final zoom. */
  function fitOnce(rows) {
    if (state.fitted) return;
    let south = 90; let west = 180; let north = -90; let east = -180;
    for (const r of rows) {
      if (r[C.status] !== 'located' || r[C.lat] === null) continue;
      south = Math.min(south, r[C.lat]); north = Math.max(north, r[C.lat]);
      west = Math.min(west, r[C.lon]); east = Math.max(east, r[C.lon]);
    }
    if (south > north) return;
    state.fitted = true;
    map.fitBounds(L.latLngBounds([south, west], [north, east]).pad(0.1), { maxZoom: 12, animate: false });
  }

  /** Until markercluster has indexed every marker (seconds at 100k), paint a quick overview:
   * the same cluster icons, from a one-pass grid count at the current zoom. Not interactive;
   * replaced by the real clusters as soon as they are ready. */
  function paintOverview(rows) {
    const f = currentFilter();
    const zoom = map.getZoom();
    const cell = 70;
    const grid = new Map();
    for (const r of rows) {
      if (!passes(r, f)) continue;
      const p = map.project([r[C.lat], r[C.lon]], zoom);
      const key = Math.floor(p.x / cell) + ':' + Math.floor(p.y / cell);
      let g = grid.get(key);
      if (!g) grid.set(key, (g = { n: 0, lat: 0, lon: 0, source: r[C.source] }));
      g.n += 1; g.lat += r[C.lat]; g.lon += r[C.lon];
    }
    const layer = L.layerGroup();
    for (const g of grid.values()) {
      const icon = g.n === 1
        ? ICONS[g.source] || ICONS.none
        : L.divIcon({
          className: 'marker-cluster overview marker-cluster-' + (g.n < 10 ? 'small' : g.n < 100 ? 'medium' : 'large'),
          iconSize: [40, 40], html: el('div', {}, el('span', {}, String(g.n))),
        });
      layer.addLayer(L.marker([g.lat / g.n, g.lon / g.n], { icon, interactive: false, keyboard: false }));
    }
    return layer.addTo(map);
  }

  async function load() {
    performance.mark('geolocator:fetch');
    const response = await fetch('/api/map');
    const data = await response.json();
    performance.mark('geolocator:data');
    fitOnce(data.rows);
    const overview = data.rows.length > 2000 ? paintOverview(data.rows) : null;
    performance.mark('geolocator:overview');
    if (overview) await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve))); // let it paint
    await apply(data);
    if (overview) overview.remove();
    performance.mark('geolocator:ready');
    document.body.dataset.ready = 'true';
    setTimeout(poll, POLL_MS);
  }

  async function poll() {
    try {
      const response = await fetch('/api/map?since=' + state.seq + '&instance=' + encodeURIComponent(state.instance));
      if (response.ok) {
        const data = await response.json();
        if (data.full || data.rows.length) {
          fitOnce(data.rows);
          await apply(data);
        }
      }
    } catch (err) {
      // the daemon is restarting or gone: keep trying quietly
    }
    setTimeout(poll, POLL_MS);
  }

  // -- selection and popups ------------------------------------------------------------------
  function clearUncertainty() {
    if (state.uncertainty) { state.uncertainty.remove(); state.uncertainty = null; }
  }

  async function select(id, fly) {
    stopDragging();
    state.selected = id;
    list.draw();
    const row = state.rows.get(id);
    if (!row) return;
    let detail;
    try {
      const response = await fetch('/api/images/' + encodeURIComponent(id));
      if (!response.ok) throw new Error(response.statusText);
      detail = await response.json();
    } catch (err) {
      notice('Could not load this photo: ' + err.message);
      return;
    }
    const marker = state.onMap.has(id) ? state.markers.get(id) : null;
    const content = popupContent(detail, marker);
    if (marker) {
      const open = () => {
        marker.bindPopup(content, { minWidth: 260, maxWidth: 320, autoPanPadding: [30, 30] }).openPopup();
        showUncertainty(detail);
      };
      if (fly) reveal(marker, open); else open();
    } else {
      clearUncertainty();
      const at = detail.lat !== null && detail.lon !== null ? [detail.lat, detail.lon] : map.getCenter();
      if (fly && detail.lat !== null) map.flyTo(at, Math.max(map.getZoom(), 10), { duration: 0.6 });
      L.popup({ minWidth: 260, maxWidth: 320 }).setLatLng(at).setContent(content).openOn(map);
    }
  }

  /** Zoom/spiderfy until the marker itself is shown, then `then()` once. markercluster's
   * zoomToShowLayer never calls back when its pan is a no-op, so a timer backs it up. */
  function reveal(marker, then) {
    let called = false;
    const once = () => { if (!called) { called = true; then(); } };
    if (marker._icon && map.getBounds().contains(marker.getLatLng())) { once(); return; }
    cluster.zoomToShowLayer(marker, once);
    setTimeout(() => {
      if (called) return;
      if (!marker._icon) map.setView(marker.getLatLng(), map.getMaxZoom(), { animate: false });
      setTimeout(once, 300);
    }, 1500);
  }

  function showUncertainty(detail) {
    clearUncertainty();
    if (detail.source === 'ai' && detail.radius_km) {
      state.uncertainty = L.circle([detail.lat, detail.lon], {
        radius: detail.radius_km * 1000, color: '#d9480f', weight: 1.5, dashArray: '6 4', fillOpacity: 0.08, interactive: false,
      }).addTo(map);
    }
  }

  // Dragging closes the popup (Leaflet does that on dragstart), so the pin stays draggable
  // until it is dropped or another photo is selected.
  map.on('popupclose', clearUncertainty);
  function stopDragging() {
    if (state.dragging && state.dragging.dragging) state.dragging.dragging.disable();
    state.dragging = null;
  }

  function fmtCoord(lat, lon) {
    return lat.toFixed(5) + ', ' + lon.toFixed(5);
  }

  function popupContent(d, marker) {
    const fields = [
      ['Place', d.place],
      ['Taken', d.taken_at],
      ['Coordinates', d.lat !== null && d.lon !== null ? fmtCoord(d.lat, d.lon) : null],
      ['Source', d.source ? SOURCE_LABEL[d.source] : d.status],
      ['Camera', d.camera],
    ];
    if (d.source === 'ai') {
      fields.push(['Model', d.model], ['Confidence', d.confidence !== null ? Math.round(d.confidence * 100) + ' %' : null],
        ['Uncertainty', d.radius_km ? '± ' + d.radius_km.toLocaleString() + ' km' : null], ['Description', d.description]);
    }
    if (d.status !== 'located') fields.push(['Reason', d.error]);
    const dl = el('dl', { class: 'fields' });
    for (const [label, value] of fields) {
      if (value === null || value === undefined || value === '') continue;
      dl.append(el('dt', {}, label), el('dd', { dataset: { field: label.toLowerCase() } }, value));
    }
    const thumb = d.has_file ? el('img', { class: 'thumb', alt: '', src: d.thumb_url, width: 280 }) : null;
    if (thumb) thumb.addEventListener('error', () => thumb.remove());
    const body = el('div', { class: 'popup', dataset: { id: d.id } },
      d.has_file ? el('a', { href: d.image_url, target: '_blank', rel: 'noopener noreferrer' }, thumb) : null,
      el('h3', { class: 'popup-name' }, d.name),
      dl,
      d.has_file ? el('a', { class: 'full', href: d.image_url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the full image') : null);
    if (d.status !== 'failed' && d.status !== 'duplicate') body.append(fixForm(d, marker));
    return body;
  }

  function fixForm(d, marker) {
    const message = el('p', { class: 'fix-message', role: 'status' });
    const lat = el('input', { name: 'lat', type: 'number', step: 'any', min: -90, max: 90, required: true, placeholder: 'latitude', value: d.lat === null ? '' : +d.lat.toFixed(6) });
    const lon = el('input', { name: 'lon', type: 'number', step: 'any', min: -180, max: 180, required: true, placeholder: 'longitude', value: d.lon === null ? '' : +d.lon.toFixed(6) });
    const form = el('form', { class: 'fix' },
      el('p', { class: 'fix-title' }, d.status === 'located' ? 'Correct the location' : 'Place this photo'),
      el('div', { class: 'fix-row' }, lat, lon, el('button', { type: 'submit' }, 'Save')),
      el('div', { class: 'fix-row' },
        el('button', { type: 'button', class: 'place', onclick: () => startPlacing(d) }, 'Place on map'),
        marker ? el('button', { type: 'button', class: 'drag', onclick: () => startDragging(d, marker, message) }, 'Drag the pin') : null),
      message);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      saveLocation(d.id, Number(lat.value), Number(lon.value), message);
    });
    return form;
  }

  function startDragging(d, marker, message) {
    message.textContent = 'Drag the marker to where the photo was taken.';
    stopDragging();
    state.dragging = marker;
    marker.dragging.enable();
    marker.once('dragend', () => {
      stopDragging();
      const p = marker.getLatLng().wrap();
      saveLocation(d.id, p.lat, p.lng, null);
    });
  }

  function startPlacing(d) {
    state.placing = d.id;
    map.closePopup();
    map.getContainer().classList.add('placing');
    notice('Click the map where “' + d.name + '” was taken (Esc cancels).', true);
  }

  function stopPlacing() {
    state.placing = null;
    map.getContainer().classList.remove('placing');
    notice('');
  }

  map.on('click', (e) => {
    if (!state.placing) return;
    const id = state.placing;
    stopPlacing();
    const p = e.latlng.wrap();
    saveLocation(id, p.lat, p.lng, null);
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && state.placing) stopPlacing(); });

  async function saveLocation(id, lat, lon, message) {
    const say = (text) => { if (message) message.textContent = text; else notice(text); };
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      say('Latitude must be within ±90 and longitude within ±180.');
      return;
    }
    say('Saving…');
    let response;
    try {
      response = await fetch('/api/images/' + encodeURIComponent(id) + '/location', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Geolocator-Token': TOKEN },
        body: JSON.stringify({ lat, lon }),
      });
    } catch (err) {
      say('Could not reach geolocator.');
      return;
    }
    if (response.status === 403) { say('geolocator was restarted: reload the page to edit.'); return; }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      say('Not saved: ' + (problem.error || response.statusText));
      return;
    }
    const record = await response.json();
    await apply({
      instance: state.instance, seq: state.seq, full: false, counts: null,
      rows: [COLUMNS.map((c) => (c === 'date' ? (record.taken_at || '').slice(0, 10) || null : c === 'radius_km' || c === 'error' ? null : record[c]))],
    });
    notice('Saved: ' + record.name + ' is now at ' + fmtCoord(record.lat, record.lon) + '.');
    select(id, true);
  }

  window.geolocator = { map, cluster, state, select }; // for debugging from the console (and the tests)
  load().catch((err) => notice('Could not load the photos: ' + err.message, true));
})();
