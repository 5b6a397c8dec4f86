// The JSON API, called with the key the user typed in. The key lives in
// sessionStorage (or localStorage when "remember" is ticked), never in a URL.
const STORE = 'finetune.apiKey';

export function getKey() {
  return sessionStorage.getItem(STORE) ?? localStorage.getItem(STORE);
}

export function setKey(key, remember) {
  clearKey();
  (remember ? localStorage : sessionStorage).setItem(STORE, key);
}

export function clearKey() {
  sessionStorage.removeItem(STORE);
  localStorage.removeItem(STORE);
}

/** An API error response: {error:{code,message}} with its HTTP status. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? { code: `http_${status}`, message: `HTTP ${status}` };
    super(`${error.code}: ${error.message}`);
    this.status = status;
    this.code = error.code;
    this.details = error.details;
  }
}

function headers(accept, withBody) {
  const key = getKey();
  if (!key) throw new ApiError(401, { error: { code: 'unauthorized', message: 'Enter your API key' } });
  return { authorization: `Bearer ${key}`, accept, ...(withBody ? { 'content-type': 'application/json' } : {}) };
}

export async function api(path, { method = 'GET', body, signal } = {}) {
  const res = await fetch(path, { method, signal, headers: headers('application/json', body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  const json = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

/** Every page of a cursor-paginated list (bounded: a dashboard shows the recent past). */
export async function listAll(path, { signal, maxPages = 10 } = {}) {
  const out = [];
  let after = null;
  let limit = 100;
  for (let i = 0; i < maxPages; i++) {
    const sep = path.includes('?') ? '&' : '?';
    let page;
    try {
      page = await api(`${path}${sep}limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`, { signal });
    } catch (err) {
      // The operator set MAX_PAGE_SIZE below 100: ask again with what the API allows.
      if (err.code !== 'page_size_exceeded' || !(err.details?.limit < limit)) throw err;
      limit = err.details.limit;
      i--;
      continue;
    }
    out.push(...page.data);
    if (!page.hasMore) break;
    after = page.nextCursor;
  }
  return out;
}

/** Saves a keyed file: fetched with the key, then handed to the browser as a download. */
export async function download(path, filename) {
  const res = await fetch(path, { headers: headers('*/*', false) });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * A job's Server-Sent Events, read with fetch (EventSource cannot send the
 * Authorization header). Yields {id, event, data} until the stream ends.
 */
export async function* jobEvents(jobId, after, signal) {
  const res = await fetch(`/v1/jobs/${jobId}/events?after=${after}`, { signal, headers: headers('text/event-stream', false) });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const ev = { id: null, event: 'message', data: '' };
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') ev.id = val;
        else if (field === 'event') ev.event = val;
        else if (field === 'data') ev.data += ev.data ? `\n${val}` : val;
      }
      if (ev.data) yield { ...ev, data: JSON.parse(ev.data) };
    }
  }
}
