// What the AI is doing, in the header (GET /api/ai, asked at every poll): nothing while all is well
// and nothing waits; "asking" while it works through the photos waiting; and when a server cannot
// answer (down, its model missing, busy or failing), since when, the fix, and "Retry all now"
// (POST /api/ai/retry: every photo waiting for Ollama is asked at once).
import * as api from './api.js';
import { el, notice, withCode } from './dom.js';
import { state } from './state.js';
import { fmtInstant } from './when.js';

const TROUBLE = new Set(['down', 'model missing', 'busy or failing']);

let applyRows = async () => {};
let troubled = []; // the servers in trouble, as last told

/** `apply(rows, counts)` merges rows from the server into the page (see main.js). */
export function initAI(apply) {
  applyRows = apply;
}

/** Ask the server what the AI is doing and show it (quietly: the map's poll says when it is gone). */
export async function refreshAI() {
  let ai;
  try {
    ai = await api.fetchAI();
  } catch (err) {
    return;
  }
  show(ai);
}

/** One line on the AI for a pending photo's popup, while it cannot answer; null otherwise. */
export function aiTrouble() {
  if (!troubled.length) return null;
  const s = troubled[0];
  return (troubled.length > 1 ? 'no Ollama server answers' : 'Ollama at ' + s.name + ' is ' + (s.state === 'model missing' ? 'missing the model' : s.state))
    + ' (see the top of the panel)';
}

function since(s) {
  const when = s.since ? fmtInstant(s.since) : '';
  return when ? ' since ' + when : '';
}

function serverLine(ai, s) {
  const what = s.state === 'model missing' ? 'the model ' + ai.model + ' is missing' + since(s) : s.state + since(s);
  return el('p', { class: 'ai-server', dataset: { state: s.state }, title: s.reason || '' },
    'Ollama at ', el('strong', {}, s.name), ': ', what,
    s.state === 'busy or failing' && s.reason ? el('span', { class: 'ai-reason' }, ' (', ...withCode(s.reason), ')') : null);
}

function show(ai) {
  const box = document.getElementById('ai');
  const pending = (state.counts && state.counts.pending) || 0;
  const waiting = pending === 1 ? '1 photo waits' : pending.toLocaleString() + ' photos wait';
  troubled = ai.enabled && ai.running ? ai.servers.filter((s) => TROUBLE.has(s.state)) : [];
  box.replaceChildren();
  box.className = '';
  delete box.dataset.state;
  if (troubled.length) {
    box.dataset.state = troubled[0].state;
    box.className = 'trouble';
    const retry = el('button', { type: 'button', class: 'ai-retry' }, 'Retry all now');
    retry.addEventListener('click', () => retryAll(retry));
    box.append(el('p', { class: 'ai-title' }, 'The AI cannot answer' + (pending ? ': ' + waiting : '')));
    for (const s of troubled) box.append(serverLine(ai, s), el('p', { class: 'ai-fix' }, 'Fix: ', ...withCode(s.fix)));
    box.append(retry);
  } else if (ai.enabled && ai.running && ai.servers.some((s) => s.state === 'asking')) {
    box.dataset.state = 'asking';
    box.append(el('p', { class: 'ai-title' }, 'The AI is at work' + (pending ? ': ' + waiting : '')));
  } else if (ai.enabled && !ai.running && pending) {
    box.dataset.state = 'elsewhere';
    box.append(el('p', { class: 'ai-title' }, 'The AI is asked by the service (python3 daemon.py run): ' + waiting + '.'));
  }
  box.hidden = !box.dataset.state;
}

async function retryAll(button) {
  button.disabled = true;
  try {
    const answer = await api.post('/api/ai/retry');
    await applyRows(answer.rows, answer.counts);
    show(answer.ai);
    notice(answer.resumed === 1 ? 'Asking the AI again, about 1 photo.'
      : answer.resumed ? 'Asking the AI again, about ' + answer.resumed.toLocaleString() + ' photos.' : 'Asking the AI again.');
  } catch (err) {
    notice(err.message);
  } finally {
    button.disabled = false;
  }
}
