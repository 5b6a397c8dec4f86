// The dashboard's way to the JSON API: the typed client (client.js, the browser
// build of apps/client) with the key the user typed in. The key lives in
// sessionStorage (or localStorage when "remember" is ticked), never in a URL.
import { ApiError, FinetuneClient } from './client.js';

export { ApiError };

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

/** The client, with the stored key; a 401 when there is none (the page then asks for it). */
export function client() {
  const apiKey = getKey();
  if (!apiKey) throw new ApiError(401, 'unauthorized', 'Enter your API key');
  return new FinetuneClient({ baseUrl: location.origin, apiKey });
}

/** What an error says on the page: the API's code with its message. */
export const errorText = (err) => (err instanceof ApiError ? `${err.code}: ${err.message}` : err.message);

/** The first `max` items of a list the client walks page by page (a dashboard shows the recent past). */
export async function first(items, max) {
  const out = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

/** Hands bytes fetched with the key to the browser as a file download. */
export function saveBytes(bytes, filename) {
  const url = URL.createObjectURL(new Blob([bytes]));
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
