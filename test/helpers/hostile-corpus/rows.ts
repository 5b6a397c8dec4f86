// The hostile-input corpus's shared parts: a row's shape, the state the rows read
// (filled in by the test's before()), and the helpers the rows are written with.
import assert from 'node:assert/strict';
import type { Harness } from '../harness.ts';
import { http, registerSettled, tinyMlp } from '../api.ts';
import { solid } from '../images.ts';
import { rawRequest } from '../raw-http.ts';

export const ZERO = '00000000-0000-4000-8000-000000000000';

export interface Case {
  name: string;
  status: number;
  code: string;
  send: () => PromiseLike<{ status: number; body: any }>;
  /** More to assert about the error's details (and the whole response). */
  check?: (details: any, res?: any) => void;
}

/** What the rows need that exists only once the harness is up: read lazily, when a row is sent. */
export class Corpus {
  h!: Harness;
  port = 0;
  readonly ids: Record<string, string> = {};
  tiny!: { json: any; weights: Uint8Array };
}

/** Refused from the topology and manifest alone, before tfjs allocated anything. */
export const beforeAllocation = (d: any) => assert.ok(d?.implied > d?.declared, JSON.stringify(d));

/** Rows that register datasets, or name S3 keys. */
function datasetHelpers(c: Corpus) {
  const api = () => http(c.h.app);
  const bucket = () => c.h.storage.bucket;
  const rawJson = (url: string, body: string, type = 'application/json') => api().post(url).set('content-type', type).send(body);
  /** An image source answers 202 and fails in the background: followed to its end, it reads as the 4xx it failed with. */
  const dataset = (source: Record<string, unknown>, name: unknown = 'hostile') => registerSettled(c.h.app, { name, source });
  const mnist = (extra: Record<string, unknown>) => dataset({ type: 'mnist', ...extra });
  /** Uploads `body` under uploads/ and registers it as a CSV (or NDJSON) dataset. */
  const file = async (key: string, body: string | Uint8Array, format: 'csv' | 'ndjson' = 'csv', labelColumn = 'label') => {
    await c.h.storage.put(`${c.h.uploads}${key}`, body);
    return dataset({ type: 's3', uri: `s3://${bucket()}/${c.h.uploads}${key}`, format, labelColumn });
  };
  const s3Uri = (uri: string) => dataset({ type: 's3', uri, format: 'csv', labelColumn: 'label' });
  /** Uploads two good PNGs in class a, and `bad` and a good one in class b under uploads/<dir>/, and registers the folder as images. */
  const imageFolder = async (dir: string, bad: Uint8Array | string, preprocess: Record<string, unknown> = { size: [16, 16] }) => {
    const good = await solid(20, 20, [9, 99, 199]).png().toBuffer();
    for (const key of ['a/good-1.png', 'a/good-2.png', 'b/good.png']) await c.h.storage.put(`${c.h.uploads}${dir}/${key}`, good);
    await c.h.storage.put(`${c.h.uploads}${dir}/b/bad`, bad);
    return dataset({ type: 'images', layout: 'folders', uri: `s3://${bucket()}/${c.h.uploads}${dir}/`, preprocess });
  };
  /** Good PNGs under uploads/<dir>/ and a JSONL manifest listing [key, label] rows of them. */
  const imageManifest = async (dir: string, rows: Array<[string, string]>) => {
    const good = await solid(20, 20, [9, 99, 199]).png().toBuffer();
    for (const [key] of rows) await c.h.storage.put(`${c.h.uploads}${dir}/${key}`, good);
    const uri = (key: string) => `s3://${bucket()}/${c.h.uploads}${dir}/${key}`;
    await c.h.storage.put(`${c.h.uploads}${dir}/manifest.jsonl`, rows.map(([key, label]) => JSON.stringify({ uri: uri(key), label })).join('\n'));
    return dataset({ type: 'images', layout: 'manifest', uri: uri('manifest.jsonl'), preprocess: { size: [8, 8] } });
  };
  const namesBadImage = (dir: string) => (d: any, res?: any) => assert.ok(res?.body.error.message.includes(`${c.h.uploads}${dir}/b/bad`), JSON.stringify(d));
  /** A registration from a key in our bucket outside the caller's upload area. */
  const ourKey = (kind: 'model' | 'dataset', key: string) =>
    kind === 'model' ? api().post('/v1/models').send({ name: 'copy', uri: `s3://${bucket()}/${key}` }) : s3Uri(`s3://${bucket()}/${key}`);
  const outsideArea = (d: any) => assert.deepEqual(d, { allowed: [`s3://${bucket()}/${c.h.uploads}`] });
  return { api, bucket, rawJson, dataset, mnist, file, s3Uri, imageFolder, imageManifest, namesBadImage, ourKey, outsideArea };
}

/** Rows that submit jobs, register models, or speak raw HTTP. */
function requestHelpers(c: Corpus, { api, bucket }: ReturnType<typeof datasetHelpers>) {
  const job = (body: Record<string, unknown>) => api().post('/v1/jobs').send(body);
  const pretrain = (over: Record<string, unknown> = {}) => job({ type: 'pretrain', architecture: tinyMlp(5), trainDatasetId: c.ids.digits, ...over });
  const hp = (hyperparameters: Record<string, unknown>) => pretrain({ hyperparameters });
  const webhook = (url: string) => pretrain({ webhook: { url, secret: 'a-webhook-secret-0123456789' } });
  /** Uploads a model under uploads/<key>/ after `mutate` has had its way with tiny's files. */
  const model = async (key: string, mutate: (json: any, weights: Uint8Array) => { json?: any; weights?: Uint8Array; raw?: string } | void) => {
    const json = structuredClone(c.tiny.json);
    const out = mutate(json, c.tiny.weights) ?? {};
    await c.h.storage.put(`${c.h.uploads}${key}/weights.bin`, out.weights ?? c.tiny.weights);
    await c.h.storage.put(`${c.h.uploads}${key}/model.json`, out.raw ?? JSON.stringify(out.json ?? json));
    return api().post('/v1/models').send({ name: 'hostile', uri: `s3://${bucket()}/${c.h.uploads}${key}/model.json` });
  };
  /** Uploads a model.json as it is, with zero weights of the size its manifest declares. */
  const rawModel = async (key: string, json: any) => {
    const bytes = json.weightsManifest[0].weights.reduce((n: number, w: any) => n + 4 * w.shape.reduce((a: number, b: number) => a * b, 1), 0);
    await c.h.storage.put(`${c.h.uploads}${key}/weights.bin`, new Uint8Array(bytes));
    await c.h.storage.put(`${c.h.uploads}${key}/model.json`, JSON.stringify(json));
    return api().post('/v1/models').send({ name: 'hostile', uri: `s3://${bucket()}/${c.h.uploads}${key}/model.json` });
  };
  /** The fault, and the layer at fault, that a model_invalid names. */
  const fault = (kind: string, at?: string) => (d: any) => assert.deepEqual([d?.fault, d?.layer], [kind, at], JSON.stringify(d));
  /** Raw bytes on a socket of their own: requests that no HTTP client would send. */
  const raw = (bytes: string | Buffer) => rawRequest(c.port, bytes);
  const auth = () => `Authorization: Bearer ${c.h.tenant.apiKey}\r\n`;
  /** The connection closes, and nothing of the request is echoed back. */
  const closedQuietly = (echo?: string) => (_d: unknown, res?: any) => {
    assert.equal(res?.headers?.connection?.toLowerCase(), 'close');
    if (echo) assert.ok(!JSON.stringify(res.body).includes(echo), 'the request is not echoed back');
  };
  const weightSpec = (json: any, i: number) => json.weightsManifest[0].weights[i];
  const layer = (json: any, i: number) => json.modelTopology.model_config?.config.layers[i] ?? json.modelTopology.config.layers[i];
  return { job, pretrain, hp, webhook, model, rawModel, fault, raw, auth, closedQuietly, weightSpec, layer };
}

export function rowHelpers(c: Corpus) {
  const d = datasetHelpers(c);
  return { ...d, ...requestHelpers(c, d) };
}

export type RowHelpers = ReturnType<typeof rowHelpers>;
