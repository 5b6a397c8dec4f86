// Small helpers for the flows most tests share: raw HTTP (supertest) for tests
// about HTTP itself, and the typed client for the common flows.
import request from 'supertest';
import type { App } from '../../apps/api/src/app.ts';
import { clientFor } from './client.ts';

const defaultKeys = new WeakMap<App, string>();

/** The API key http(app) sends unless told otherwise. */
export function useKey(app: App, key: string): void {
  defaultKeys.set(app, key);
}

/** supertest against the app, with `Authorization: Bearer <key>` (the app's default key; '' sends none). */
export function http(app: App, key: string | undefined = defaultKeys.get(app)) {
  const agent = request(app.server);
  const auth = <T extends request.Test>(t: T): T => (key ? t.set('authorization', `Bearer ${key}`) : t);
  return {
    get: (url: string) => auth(agent.get(url)),
    post: (url: string) => auth(agent.post(url)),
    put: (url: string) => auth(agent.put(url)),
    patch: (url: string) => auth(agent.patch(url)),
    delete: (url: string) => auth(agent.delete(url)),
    options: (url: string) => auth(agent.options(url)),
  };
}

/** The typed client as the app's default tenant. */
export function api(app: App, key: string | undefined = defaultKeys.get(app)) {
  return clientFor(app, key ?? '');
}

/** Registers a dataset; an image source (202 `validating`) is followed to its end: the ready dataset, or the ApiError it failed with. */
export async function createDataset(app: App, name: string, source: Record<string, unknown>) {
  const d = await api(app).datasets.create({ name, source } as Parameters<ReturnType<typeof api>['datasets']['create']>[0]);
  return d.status === 'validating' ? api(app).datasets.wait(d.id) : d;
}

export async function submitJob(app: App, body: Record<string, unknown>) {
  return api(app).jobs.create(body as Parameters<ReturnType<typeof api>['jobs']['create']>[0]);
}

export type JobBody = Record<string, any>;

/** Polls the job until `done(job)` holds. */
export async function waitForJob(app: App, id: string, done: (job: JobBody) => boolean, timeoutMs = 120_000): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  let last: JobBody | undefined;
  while (Date.now() < deadline) {
    last = (await api(app).jobs.get(id)) as JobBody;
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Job ${id} did not reach the expected state in time; last seen: ${JSON.stringify(last)}`);
}

export const finished = (j: JobBody) => ['succeeded', 'failed', 'cancelled'].includes(j.status);

/** A tiny MLP architecture for 28x28x1 MNIST inputs. */
export const tinyMlp = (classes: number) => [
  { type: 'flatten' },
  { type: 'dense', units: 32, activation: 'relu', name: 'features' },
  { type: 'dense', units: classes, activation: 'softmax', name: 'output' },
];

/** Polls GET /v1/datasets/:id until the registration has ended (ready, failed or cancelled); every body seen, in order. */
export async function followDataset(app: App, id: string, key?: string, timeoutMs = 300_000): Promise<Array<Record<string, any>>> {
  const seen: Array<Record<string, any>> = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await http(app, key).get(`/v1/datasets/${id}`);
    if (res.status !== 200) throw new Error(`GET dataset ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    seen.push(res.body);
    if (res.body.status !== 'validating') return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Dataset ${id} was still validating after ${timeoutMs} ms`);
}

/**
 * POST /v1/datasets; an image source's 202 is followed to its end and answered as a synchronous
 * registration would have been: 201 and the ready dataset, or the stored error's status and {error}.
 * `accepted` is the 202's body.
 */
export async function registerSettled(app: App, body: Record<string, unknown>, key?: string): Promise<{ status: number; body: any; accepted?: any }> {
  const res = await http(app, key).post('/v1/datasets').send(body);
  if (res.status !== 202) return { status: res.status, body: res.body };
  const last = (await followDataset(app, res.body.id, key)).at(-1)!;
  if (last.status === 'ready') return { status: 201, body: last, accepted: res.body };
  const { code, message, details, status } = last.error;
  return { status, body: { error: { code, message, ...(details !== undefined ? { details } : {}) } }, accepted: res.body };
}
