<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<meta name="geolocator-token" content="{{token}}">
<meta name="geolocator-tiles" content="{{tile_url}}">
<meta name="geolocator-attribution" content="{{tile_attribution}}">
<meta name="geolocator-columns" content="{{columns}}">
<title>geolocator — map</title>
<!-- What the first picture needs comes first (the browser asks a server six things at a time):
     the style sheets and sketch.js, which draws the world outline this page carries. -->
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/app.css">
<link rel="stylesheet" href="/static/map.css">
<link rel="stylesheet" href="/static/edit.css">
<link rel="preload" href="/static/js/sketch.js" as="script">
<script src="/static/js/early.js"></script>
<!-- every module of the page, asked for at once rather than as each import is found -->
<link rel="modulepreload" href="/static/js/main.js">
<link rel="modulepreload" href="/static/js/ai.js">
<link rel="modulepreload" href="/static/js/api.js">
<link rel="modulepreload" href="/static/js/basemap.js">
<link rel="modulepreload" href="/static/js/browser.js">
<link rel="modulepreload" href="/static/js/clock.js">
<link rel="modulepreload" href="/static/js/dom.js">
<link rel="modulepreload" href="/static/js/filters.js">
<link rel="modulepreload" href="/static/js/list.js">
<link rel="modulepreload" href="/static/js/map.js">
<link rel="modulepreload" href="/static/js/payload.js">
<link rel="modulepreload" href="/static/js/photoviewer.js">
<link rel="modulepreload" href="/static/js/place.js">
<link rel="modulepreload" href="/static/js/popup.js">
<link rel="modulepreload" href="/static/js/search.js">
<link rel="modulepreload" href="/static/js/state.js">
<link rel="modulepreload" href="/static/js/timeline.js">
<link rel="modulepreload" href="/static/js/tracks.js">
<link rel="modulepreload" href="/static/js/upload.js">
<link rel="modulepreload" href="/static/js/when.js">
</head>
<body>
<aside id="side">
  <button type="button" id="sheet-handle" aria-label="Pull up the photo list"><span></span></button>
  <header>
    <h1>geolocator</h1>
    <dl id="counts">
      <div><dt>located</dt><dd data-count="located">…</dd></div>
      <div class="sub"><dt><span class="dot exif"></span>EXIF</dt><dd data-count="located_exif">…</dd></div>
      <div class="sub"><dt><span class="dot ai"></span>AI</dt><dd data-count="located_ai">…</dd></div>
      <div class="sub"><dt><span class="dot manual"></span>manual</dt><dd data-count="located_manual">…</dd></div>
      <div class="sub"><dt><span class="dot track"></span>track</dt><dd data-count="located_track">…</dd></div>
      <div class="sub"><dt><span class="dot nearby"></span>nearby</dt><dd data-count="located_nearby">…</dd></div>
      <div class="sub"><dt><span class="dot copy"></span>copy</dt><dd data-count="located_copy">…</dd></div>
      <div><dt>unlocated</dt><dd data-count="unlocated">…</dd></div>
      <div><dt>pending</dt><dd data-count="pending">…</dd></div>
      <div><dt>failed</dt><dd data-count="failed">…</dd></div>
      <div><dt>duplicate</dt><dd data-count="duplicate">…</dd></div>
% if in_place:
      <div><dt>missing</dt><dd data-count="missing">…</dd></div>
% end
    </dl>
    <div id="ai" hidden></div>
  </header>
  <form id="filters" autocomplete="off">
    <input type="search" name="q" placeholder="File name, or a place + Enter" aria-label="Find by file name, or press Enter to find a place" enterkeyhint="search">
    <div id="place-chip" hidden></div>
    <fieldset>
      <legend>Source</legend>
      <label><input type="checkbox" name="source" value="exif" checked> <span class="dot exif"></span>EXIF</label>
      <label><input type="checkbox" name="source" value="ai" checked> <span class="dot ai"></span>AI</label>
      <label><input type="checkbox" name="source" value="manual" checked> <span class="dot manual"></span>manual</label>
      <label><input type="checkbox" name="source" value="track" checked> <span class="dot track"></span>track</label>
      <label><input type="checkbox" name="source" value="nearby" checked> <span class="dot nearby"></span>nearby</label>
      <label><input type="checkbox" name="source" value="copy" checked> <span class="dot copy"></span>copy</label>
    </fieldset>
    <fieldset id="time">
      <legend>Taken</legend>
      <canvas id="timeline" aria-label="Capture dates: drag across to choose a range" role="img"></canvas>
      <div class="time-line"><span id="time-range" aria-live="polite"></span><button type="button" id="time-clear" hidden>All dates</button></div>
      <label>from <input type="date" name="from"></label>
      <label>to <input type="date" name="to"></label>
      <label><input type="checkbox" name="undated"> undated only</label>
    </fieldset>
    <p id="shown" aria-live="polite"></p>
  </form>
  <nav id="tabs" role="tablist">
    <button type="button" role="tab" data-tab="photos" aria-selected="true">In view <span class="n"></span></button>
    <button type="button" role="tab" data-tab="unlocated" aria-selected="false">Unlocated</button>
    <button type="button" role="tab" data-tab="failed" aria-selected="false">Failed</button>
    <button type="button" role="tab" data-tab="duplicates" aria-selected="false">Duplicates</button>
  </nav>
  <div id="list" class="vlist" role="listbox" aria-label="Photos"><div class="vlist-space"></div></div>
</aside>
<main>
  <div id="map" data-view="25,0,2"></div>
  <script type="application/json" id="outline-data">{{!outline}}</script>
  <script src="/static/js/sketch.js"></script>
  <div id="notice" hidden></div>
</main>
<div id="photoviewer" role="dialog" aria-modal="true" aria-label="Photo viewer" hidden>
  <div class="pv-stage"></div>
  <button type="button" class="pv-prev" aria-label="Previous photo">‹</button>
  <button type="button" class="pv-next" aria-label="Next photo">›</button>
  <button type="button" class="pv-close" aria-label="Close the viewer">×</button>
  <div class="pv-bar"><span class="pv-caption"></span><span class="pv-position"></span></div>
</div>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script type="module" src="/static/js/main.js"></script>
</body>
</html>
