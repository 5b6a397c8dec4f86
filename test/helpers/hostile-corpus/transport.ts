// Hostile-input rows: outbound URLs, requests Node's HTTP parser refuses, and ids that are not there.
import assert from 'node:assert/strict';
import { type Case, type Corpus, type RowHelpers, ZERO } from './rows.ts';

export function transportRows(r: RowHelpers, c: Corpus): Case[] {
  const { api, job, pretrain, webhook, raw, auth, closedQuietly } = r;
  const { ids } = c;
  return [
    // ------------------------------------------------------------ outbound URLs
    { name: 'a webhook at 127.0.0.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://127.0.0.1/hook') },
    { name: 'a webhook at the metadata service', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://169.254.169.254/latest/meta-data/') },
    { name: 'a webhook at 10.0.0.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://10.0.0.1/hook') },
    { name: 'a webhook at 192.168.1.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://192.168.1.1/hook') },
    { name: 'a webhook at 172.16.0.1', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://172.16.0.1/hook') },
    { name: 'a webhook at [::1]', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://[::1]/hook') },
    { name: 'a webhook at [::ffff:169.254.169.254]', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://[::ffff:169.254.169.254]/hook') },
    { name: 'a webhook at 127.0.0.1 spelled as a decimal', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://2130706433/hook') },
    { name: 'a webhook at 127.0.0.1 spelled in hex', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://0x7f.0.0.1/hook') },
    { name: 'a webhook over plain http, off the allow-list', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('http://example.org/hook') },
    { name: 'a webhook with credentials in it', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://user:pass@hooks.example.com/hook') },
    { name: 'a webhook via a redirector off the allow-list', status: 422, code: 'outbound_url_not_allowed', send: () => webhook('https://httpbin.org/redirect-to?url=http://169.254.169.254/') },
    { name: 'a webhook with a gopher scheme', status: 400, code: 'validation_failed', send: () => webhook('gopher://127.0.0.1:6379/_FLUSHALL') },

    // ------------------------------------------------------------ requests the router or Node's HTTP parser refuses (issue 12: they left the error shape)
    { name: 'a path id over 100 characters', status: 414, code: 'path_param_too_long', send: () => api().get(`/v1/jobs/${'a'.repeat(150)}`), check: (d, res) => assert.ok(!JSON.stringify(res.body).includes('a'.repeat(101)), 'the path is not echoed back') },
    { name: '%FF in a path', status: 400, code: 'invalid_url', send: () => api().get('/v1/jobs/%FF') },
    { name: 'an unknown HTTP method', status: 400, code: 'malformed_request', send: () => raw(`FOO /v1/jobs HTTP/1.1\r\nHost: x\r\n${auth()}\r\n`), check: closedQuietly() },
    { name: 'a control character in a header value', status: 400, code: 'malformed_request', send: () => raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Note: a\u0001b\r\n${auth()}\r\n`), check: closedQuietly() },
    { name: 'a non-ASCII header name', status: 400, code: 'malformed_request', send: () => raw(Buffer.from(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Caf\u00e9: 1\r\n${auth()}\r\n`, 'utf8')), check: closedQuietly() },
    { name: 'conflicting Content-Length and Transfer-Encoding', status: 400, code: 'malformed_request', send: () => raw(`POST /v1/datasets HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`), check: closedQuietly() },
    { name: 'two different Content-Lengths', status: 400, code: 'malformed_request', send: () => raw(`POST /v1/datasets HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}`), check: closedQuietly() },
    { name: '20 KiB of headers', status: 431, code: 'headers_too_large', send: () => raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_480)}\r\n${auth()}\r\n`), check: closedQuietly('xxxxxxxx') },
    { name: 'headers that never finish (slowloris)', status: 408, code: 'request_timeout', send: () => raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\n${auth()}`), check: (d, res) => assert.ok(res.closedAfterMs < 5_000, `closed after ${res.closedAfterMs} ms`) },
    { name: 'a body that stops halfway', status: 408, code: 'request_timeout', send: () => raw(`POST /v1/datasets HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x",`), check: (d, res) => assert.ok(res.closedAfterMs < 6_000, `closed after ${res.closedAfterMs} ms`) },

    // ------------------------------------------------------------ ids that are not there, or not ours
    { name: 'an unknown dataset id in a job', status: 422, code: 'dataset_not_found', send: () => pretrain({ trainDatasetId: ZERO }) },
    { name: 'an unknown base model id in a job', status: 422, code: 'model_not_found', send: () => job({ baseModelId: ZERO, trainDatasetId: ids.table }) },
    { name: 'another tenant\'s dataset id in a job', status: 422, code: 'dataset_not_found', send: () => pretrain({ trainDatasetId: ids.foreignDataset }) },
    { name: 'a cursor that is not one', status: 400, code: 'invalid_cursor', send: () => api().get('/v1/models?after=%00%00') },
  ];
}
