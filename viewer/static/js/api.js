// Every request the page makes. Rows and records come from the server as they are: never rebuilt here.
import { TOKEN } from './state.js';

export async function fetchMap(since, instance) {
  const query = since === undefined ? '' : '?since=' + since + '&instance=' + encodeURIComponent(instance);
  const response = await fetch('/api/map' + query);
  if (!response.ok) throw new Error(response.statusText);
  return response.json();
}

/** The response of the whole library's map rows as columns (payload.js reads it as it arrives). */
export async function fetchPayload() {
  const early = window.geolocatorEarlyPayload; // started by early.js, before the modules loaded
  window.geolocatorEarlyPayload = null;
  const response = (early && await early) || await fetch('/api/map.bin');
  if (!response.ok) throw new Error(response.statusText);
  return response;
}

/** What the AI is doing: {enabled, running, model, servers: [{name, state, since, reason, fix}]}. */
export async function fetchAI() {
  const response = await fetch('/api/ai');
  if (!response.ok) throw new Error(response.statusText);
  return response.json();
}

export async function fetchRecord(id) {
  const response = await fetch('/api/images/' + encodeURIComponent(id));
  if (!response.ok) throw new Error(response.statusText);
  return response.json();
}

/** POST with the page's token (`body`, if any, as JSON). Resolves to the answer's JSON, or throws
 * an Error whose message is ready to show. */
export async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Geolocator-Token': TOKEN },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Error('Could not reach geolocator.');
  }
  if (response.status === 401) throw new Error('You are logged out: reload the page to log in.');
  if (response.status === 403) throw new Error('geolocator was restarted: reload the page to edit.');
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error('Not done: ' + (problem.error || response.statusText));
  }
  return response.json();
}

/** Place photos by hand: resolves to {records, rows} (the stored records and their map rows). */
export const saveLocations = (ids, lat, lon) => post('/api/locations', { ids, lat, lon });

/** What the one place field means: {lat, lon, label, kind, radius_km}; throws with the server's reason. */
export async function where(q) {
  const response = await fetch('/api/where?q=' + encodeURIComponent(q));
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

/** Place, capture time and the photo a duplicate repeats, for up to 200 ids: {id: brief}. */
export async function fetchBriefs(ids) {
  const response = await fetch('/api/brief?ids=' + ids.map(encodeURIComponent).join(','));
  if (!response.ok) throw new Error(response.statusText);
  return response.json();
}

/** The gazetteer's answer for a place name and the ids of the photos it names: {match, ids}; match: {lat, lon, level, label, radius_km, bounds}. */
export async function fetchPlace(q) {
  const response = await fetch('/api/places?q=' + encodeURIComponent(q));
  if (!response.ok) throw new Error(response.statusText);
  return response.json();
}
