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

export async function createDataset(app: App, name: string, source: Record<string, unknown>) {
  return api(app).datasets.create({ name, source } as Parameters<ReturnType<typeof api>['datasets']['create']>[0]);
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
