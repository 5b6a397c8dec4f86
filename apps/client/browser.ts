// The entry of the client's browser build (apps/dashboard/client.js, made by
// `npm run client:bundle`): everything but the Node-only file helpers.
export { FinetuneClient } from './client.ts';
export { ApiError } from './errors.ts';
