// The typed client: `new FinetuneClient({ baseUrl, apiKey })`.
export { FinetuneClient, type CallOptions, type ClientOptions, type PostOptions, type StreamOptions } from './client.ts';
export { ApiError } from './errors.ts';
export { parseSse, type SseMessage } from './sse.ts';
export type * from './types.ts';
