// The typed client in Node: `new FinetuneClient({ baseUrl, apiKey })`.
// (browser.ts is the same client without the file-system helper, for the dashboard's build.)
export { FinetuneClient, type ClientOptions } from './client.ts';
export { downloadKerasModel, downloadModel, type DownloadedModel } from './download-model.ts';
export type { DatasetWaitOptions } from './datasets.ts';
export { ApiError } from './errors.ts';
export type { StreamEnd, StreamOptions, WaitOptions } from './jobs.ts';
export { parseSse, type SseMessage } from './sse.ts';
export type { CallOptions, PostOptions } from './transport.ts';
export type * from './types.ts';
