// Small helpers over supertest for the flows most tests share.
import assert from 'node:assert/strict';
import request from 'supertest';
import type { App } from '../../apps/api/src/app.ts';

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

export async function createDataset(app: App, name: string, source: Record<string, unknown>) {
  const res = await http(app).post('/v1/datasets').send({ name, source });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { id: string; labels: string[]; numExamples: number; featureShape: number[]; classCounts: Array<{ label: string; count: number }> };
}

export async function submitJob(app: App, body: Record<string, unknown>) {
  const res = await http(app).post('/v1/jobs').send(body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.headers.location, `/v1/jobs/${res.body.id}`);
  return res.body as { id: string; status: string };
}

export type JobBody = Record<string, any>;

/** Polls GET /v1/jobs/:id until `done(job)` holds. */
export async function waitForJob(app: App, id: string, done: (job: JobBody) => boolean, timeoutMs = 120_000): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  let last: JobBody | undefined;
  while (Date.now() < deadline) {
    const res = await http(app).get(`/v1/jobs/${id}`);
    assert.equal(res.status, 200);
    last = res.body;
    if (done(res.body)) return res.body;
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
