// The dashboard's entry: asks for the API key once, then routes on the URL
// hash (#/jobs, #/jobs/<id>, #/sweeps, #/sweeps/<id>, #/models, #/models/<id>). The page itself holds no
// data: every view reads the JSON API with the key.
import { ApiError, clearKey, errorText, getKey, setKey } from './api.js';
import { h, jobView, jobsView, modelsView } from './views.js';
import { sweepView, sweepsView } from './sweeps.js';

const main = document.getElementById('main');
const signOut = document.getElementById('sign-out');
/** Aborts the view on screen: its requests, streams and polling. */
let current = null;

function showKeyForm(message) {
  current?.abort();
  const form = document.getElementById('key-template').content.firstElementChild.cloneNode(true);
  if (message) {
    const error = form.querySelector('#key-error');
    error.textContent = message;
    error.hidden = false;
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = form.querySelector('#key-input').value.trim();
    if (!key) return;
    setKey(key, form.querySelector('#key-remember').checked);
    void route();
  });
  main.replaceChildren(form);
  main.dataset.view = 'key';
  signOut.hidden = true;
  form.querySelector('#key-input').focus();
}

async function route() {
  current?.abort();
  if (!getKey()) return showKeyForm();
  const controller = new AbortController();
  current = controller;
  const { signal } = controller;
  const [, name = 'jobs', id] = location.hash.split('/');
  const view = h('div', { class: 'view' });
  main.replaceChildren(view);
  main.dataset.view = name === 'jobs' && id ? 'job' : name === 'sweeps' && id ? 'sweep' : name;
  signOut.hidden = false;
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === name);
  try {
    if (name === 'models') await modelsView(view, signal, id);
    else if (name === 'jobs' && id) await jobView(view, id, signal);
    else if (name === 'sweeps') await (id ? sweepView(view, id, signal) : sweepsView(view, signal));
    else await jobsView(view, signal);
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      // A wrong, revoked or admin key: forget it and say what the API said.
      clearKey();
      return showKeyForm(`The API answered ${err.status}: ${errorText(err)}`);
    }
    view.replaceChildren(h('section', { class: 'card' }, h('p', { class: 'error', id: 'error', role: 'alert' }, errorText(err))));
  }
}

window.addEventListener('hashchange', () => void route());
signOut.addEventListener('click', () => {
  clearKey();
  showKeyForm();
});
void route();
