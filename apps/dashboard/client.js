// Generated from apps/client (entry apps/client/browser.ts) by `npm run client:bundle`: do not edit.
// test/client-bundle.test.ts fails when this file differs from a fresh build.

// apps/client/errors.ts
var ApiError = class _ApiError extends Error {
  /** HTTP status; 0 when no response came back (connection refused, reset, stream lost). */
  status;
  /** The service's stable code (job_not_found, validation_failed, ...); `http_<status>` for a non-JSON reply. */
  code;
  details;
  /** The x-request-id of the response, to find it in the service's logs. */
  requestId;
  constructor(status, code, message, details, requestId) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
  /** Builds the error from a non-2xx response, whatever its body. */
  static async fromResponse(res) {
    const requestId = res.headers.get("x-request-id") ?? void 0;
    const text = await res.text().catch(() => "");
    try {
      const body = JSON.parse(text);
      if (body.error && typeof body.error.code === "string") {
        return new _ApiError(res.status, body.error.code, body.error.message ?? res.statusText, body.error.details, requestId);
      }
    } catch {
    }
    return new _ApiError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText || `HTTP ${res.status}`, void 0, requestId);
  }
  toJSON() {
    return { status: this.status, code: this.code, message: this.message, ...this.details !== void 0 ? { details: this.details } : {}, ...this.requestId ? { requestId: this.requestId } : {} };
  }
};

// apps/client/sse.ts
async function* parseSse(body) {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let event = "";
  let data = [];
  let id;
  let retry;
  try {
    for (; ; ) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl;
      const lineEnd = /\r\n|\r|\n/g;
      let start = 0;
      while (nl = lineEnd.exec(buffer)) {
        if (nl[0] === "\r" && nl.index === buffer.length - 1 && !done) break;
        const line = buffer.slice(start, nl.index);
        start = nl.index + nl[0].length;
        if (line === "") {
          if (data.length > 0 || retry !== void 0) {
            yield { event: event || "message", data: data.join("\n"), ...id !== void 0 ? { id } : {}, ...retry !== void 0 ? { retry } : {} };
          }
          event = "";
          data = [];
          retry = void 0;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let val = colon === -1 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
        else if (field === "id" && !val.includes("\0")) id = val;
        else if (field === "retry" && /^\d+$/.test(val)) retry = Number(val);
      }
      buffer = buffer.slice(start);
      if (done) return;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => void 0);
  }
}

// apps/client/transport.ts
var RETRY_STATUSES = /* @__PURE__ */ new Set([429, 502, 503, 504]);
var backoff = (attempt) => 500 * 2 ** attempt;
var sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => {
    clearTimeout(t);
    reject(signal.reason);
  }, { once: true });
});
var Transport = class {
  baseUrl;
  #apiKey;
  #maxRetries;
  /** Called as a plain function: a browser's fetch refuses to run with anything but the window as `this`. */
  fetch;
  constructor(opts) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    this.#apiKey = opts.apiKey;
    this.#maxRetries = opts.maxRetries;
    const given = opts.fetch;
    this.fetch = given ? (input, init) => given(input, init) : (input, init) => globalThis.fetch(input, init);
  }
  url(p, query) {
    const u = new URL(this.baseUrl + (p.startsWith("/") ? p : `/${p}`));
    for (const [k, v] of Object.entries(query ?? {})) if (v !== void 0) u.searchParams.set(k, String(v));
    return u.toString();
  }
  /** Sends one request, retrying where that is safe; returns the response of a 2xx, throws ApiError otherwise. */
  async raw(method, p, init = {}) {
    const headers = { accept: "application/json", ...init.headers };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    if (init.body !== void 0) headers["content-type"] = "application/json";
    if (init.idempotencyKey) headers["idempotency-key"] = init.idempotencyKey;
    const retryable = method === "GET" || init.idempotencyKey !== void 0;
    const body = init.body === void 0 ? void 0 : JSON.stringify(init.body);
    for (let attempt = 0; ; attempt++) {
      const canRetry = retryable && attempt < this.#maxRetries;
      let res;
      try {
        res = await this.fetch(this.url(p, init.query), { method, headers, body, signal: init.signal });
      } catch (err) {
        if (init.signal?.aborted) throw err;
        if (!canRetry) throw this.#unreachable(err);
        await sleep(backoff(attempt), init.signal);
        continue;
      }
      if (res.ok) return res;
      if (!canRetry || !RETRY_STATUSES.has(res.status)) throw await ApiError.fromResponse(res);
      const after = Number(res.headers.get("retry-after"));
      await res.body?.cancel().catch(() => void 0);
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1e3 : backoff(attempt), init.signal);
    }
  }
  #unreachable(err) {
    const cause = err.cause;
    return new ApiError(0, "connection_failed", `Cannot reach ${this.baseUrl}: ${cause?.code ?? cause?.message ?? err.message}`);
  }
  async json(method, p, init) {
    const res = await this.raw(method, p, init);
    if (res.status === 204) return void 0;
    return await res.json();
  }
  /** A response body as bytes (a model or checkpoint file). */
  async bytes(p, opts) {
    const res = await this.raw("GET", p, { ...opts, headers: { accept: "*/*" } });
    return new Uint8Array(await res.arrayBuffer());
  }
  /**
   * Every item of a paged list, page by page. A `limit` over the operator's
   * MAX_PAGE_SIZE is lowered to what the service says it allows, and asked again.
   */
  async *all(list, q) {
    let { after, limit } = q;
    for (; ; ) {
      let page;
      try {
        page = await list({ ...q, after, limit });
      } catch (err) {
        const allowed = allowedLimit(err, limit);
        if (allowed === void 0) throw err;
        limit = allowed;
        continue;
      }
      yield* page.data;
      if (!page.hasMore || !page.nextCursor) return;
      after = page.nextCursor;
    }
  }
};
function allowedLimit(err, asked) {
  if (!(err instanceof ApiError) || err.code !== "page_size_exceeded" || asked === void 0) return void 0;
  const allowed = err.details?.limit;
  return typeof allowed === "number" && allowed >= 1 && allowed < asked ? allowed : void 0;
}

// apps/client/datasets.ts
var enc = encodeURIComponent;
function datasetsApi(t) {
  const path = (id, rest = "") => `/v1/datasets/${enc(id)}${rest}`;
  const datasets = {
    /** POST /v1/datasets: MNIST or CSV/NDJSON are registered at once (201); images answer 202 `validating` (follow with `wait`). */
    create: (body, opts) => t.json("POST", "/v1/datasets", { body, ...opts }),
    list: (q = {}, opts) => t.json("GET", "/v1/datasets", { query: q, ...opts }),
    all: (q = {}, opts) => t.all((p) => datasets.list(p, opts), q),
    get: (id, opts) => t.json("GET", path(id), opts),
    /** Stops a validating registration; every object it wrote is deleted before this resolves. */
    cancel: (id, opts) => t.json("POST", path(id, "/cancel"), opts),
    /** The dataset each time it changes (SSE), until it is ready, failed or cancelled. */
    stream: (id, opts = {}) => stream(t, path(id, "/events"), opts),
    /**
     * Follows the registration to its end. Resolves with the ready dataset; throws an ApiError with
     * the stored error's status and code (image_invalid naming the object, …) if it failed or was cancelled.
     */
    wait: async (id, opts = {}) => {
      for await (const d2 of datasets.stream(id, opts)) opts.onProgress?.(d2);
      const d = await datasets.get(id, opts);
      if (d.status === "ready") return d;
      const e = d.error ?? { status: 500, code: "internal_error", message: `The dataset is ${d.status}` };
      throw new ApiError(e.status, e.code, e.message, e.details);
    }
  };
  return datasets;
}
async function* stream(t, url, opts) {
  const maxReconnects = opts.maxReconnects ?? 5;
  let retryMs = 1e3;
  for (let failures = 0; ; ) {
    let lost;
    try {
      const res = await t.raw("GET", url, { signal: opts.signal, headers: { accept: "text/event-stream" } });
      if (!res.body) throw new ApiError(0, "stream_failed", "The event stream had no body");
      for await (const msg of parseSse(res.body)) {
        if (msg.retry !== void 0) retryMs = msg.retry;
        if (msg.event === "end") return;
        if (msg.event === "error") throw new ApiError(0, "stream_failed", JSON.parse(msg.data).message ?? "The event stream failed");
        if (!msg.data) continue;
        failures = 0;
        yield JSON.parse(msg.data);
      }
      lost = new ApiError(0, "stream_interrupted", "The event stream closed before the registration ended");
    } catch (err) {
      if (opts.signal?.aborted || err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      lost = err instanceof ApiError ? err : new ApiError(0, "stream_interrupted", err.message);
    }
    if (++failures > maxReconnects) throw lost;
    await sleep(retryMs, opts.signal);
  }
}

// apps/client/advice.ts
var enc2 = encodeURIComponent;
function adviceApi(t) {
  const api = {
    /** POST /v1/advice: an advice job is queued (202). */
    create: (body, opts) => t.json("POST", "/v1/advice", { body, ...opts }),
    get: (id, opts) => t.json("GET", `/v1/advice/${enc2(id)}`, opts),
    /** Polls until the advice job has finished (succeeded, failed or cancelled). */
    async wait(id, opts = {}) {
      for (; ; ) {
        const a = await api.get(id, opts);
        if (a.status === "succeeded" || a.status === "failed" || a.status === "cancelled") return a;
        await sleep(opts.intervalMs ?? 1e3, opts.signal);
      }
    }
  };
  return api;
}

// apps/client/sweeps.ts
var enc3 = encodeURIComponent;
function sweepsApi(t) {
  const api = {
    /** POST /v1/sweeps: every trial planned and checked; the first ones queued (202). */
    create: (body, opts) => t.json("POST", "/v1/sweeps", { body, ...opts }),
    get: (id, opts) => t.json("GET", `/v1/sweeps/${enc3(id)}`, opts),
    list: (q = {}, opts) => t.json("GET", "/v1/sweeps", { query: q, ...opts }),
    cancel: (id, opts) => t.json("POST", `/v1/sweeps/${enc3(id)}/cancel`, opts),
    /** Polls until the sweep has ended; `onUpdate` sees every state read on the way. */
    async wait(id, opts = {}) {
      for (; ; ) {
        const s = await api.get(id, opts);
        opts.onUpdate?.(s);
        if (s.status !== "running") return s;
        await sleep(opts.intervalMs ?? 1e3, opts.signal);
      }
    }
  };
  return api;
}

// apps/client/jobs.ts
var enc4 = encodeURIComponent;
function jobsApi(t) {
  const path = (id, rest = "") => `/v1/jobs/${enc4(id)}${rest}`;
  const jobs = {
    /** POST /v1/jobs: the job is queued (202). */
    create: (body, opts) => t.json("POST", "/v1/jobs", { body, ...opts }),
    list: (q = {}, opts) => t.json("GET", "/v1/jobs", { query: q, ...opts }),
    all: (q = {}, opts) => t.all((p) => jobs.list(p, opts), q),
    get: (id, opts) => t.json("GET", path(id), opts),
    cancel: (id, opts) => t.json("POST", path(id, "/cancel"), opts),
    pause: (id, opts) => t.json("POST", path(id, "/pause"), opts),
    resume: (id, opts) => t.json("POST", path(id, "/resume"), opts),
    metrics: (id, opts) => t.json("GET", path(id, "/metrics"), opts),
    checkpoints: (id, opts) => t.json("GET", path(id, "/checkpoints"), opts),
    /** One file of the checkpoint written after `epoch`, as bytes. */
    checkpointFile: (id, epoch, file, opts) => t.bytes(path(id, `/checkpoints/${epoch}/${file}`), opts),
    webhookDeliveries: (id, opts) => t.json("GET", path(id, "/webhook-deliveries"), opts),
    /** The evaluation of a finished job (null until it has one). */
    evaluation: async (id, opts) => (await jobs.get(id, opts)).evaluation,
    /** One page of the event log, oldest first. */
    events: (id, q = {}, opts) => t.json("GET", path(id, "/events"), { query: q, ...opts }),
    /** The whole event log so far, page by page. */
    allEvents: (id, q = {}, opts) => t.all((p) => jobs.events(id, p, opts), q),
    /** The event log live over SSE, from the start (or `after`); ends when the job has finished and every event is in. */
    stream: (id, opts = {}) => stream2(t, path(id, "/events"), opts),
    /** Follows the job's event stream to its end, then returns the job as it finished. */
    wait: async (id, opts = {}) => {
      for await (const e of jobs.stream(id, opts)) opts.onEvent?.(e);
      return jobs.get(id, opts);
    }
  };
  return jobs;
}
async function* stream2(t, url, opts) {
  const cursor = { id: opts.after, retryMs: 1e3 };
  const maxReconnects = opts.maxReconnects ?? 5;
  for (let failures = 0; ; ) {
    let lost;
    try {
      const res = await t.raw("GET", url, {
        signal: opts.signal,
        headers: { accept: "text/event-stream", ...cursor.id ? { "last-event-id": cursor.id } : {} }
      });
      if (!res.body) throw new ApiError(0, "stream_failed", "The event stream had no body");
      for await (const item of read(res.body, cursor)) {
        if ("end" in item) return item.end;
        failures = 0;
        yield item.event;
      }
      lost = new ApiError(0, "stream_interrupted", "The event stream closed before the job finished");
    } catch (err) {
      if (opts.signal?.aborted || err instanceof ApiError && err.status >= 400 && err.status < 500) throw err;
      lost = err instanceof ApiError ? err : new ApiError(0, "stream_interrupted", err.message);
    }
    if (++failures > maxReconnects) throw lost;
    await sleep(cursor.retryMs, opts.signal);
  }
}
async function* read(body, cursor) {
  for await (const msg of parseSse(body)) {
    if (msg.retry !== void 0) cursor.retryMs = msg.retry;
    if (msg.event === "end") {
      yield { end: JSON.parse(msg.data) };
      return;
    }
    if (msg.event === "error") throw new ApiError(0, "stream_failed", JSON.parse(msg.data).message ?? "The event stream failed");
    if (!msg.data) continue;
    const event = JSON.parse(msg.data);
    cursor.id = event.id;
    yield { event };
  }
}

// apps/client/client.ts
var enc5 = encodeURIComponent;
var FinetuneClient = class {
  #t;
  /** Jobs: submit, read, control, and follow (stream, wait). */
  jobs;
  /** Datasets: register, read, and follow or cancel an image registration. */
  datasets;
  /** Advice: how much to fine-tune, measured (POST /v1/advice). */
  advice;
  /** Sweeps: grid or random search of jobs, with a leaderboard (POST /v1/sweeps). */
  sweeps;
  constructor(opts) {
    this.#t = new Transport({ ...opts, maxRetries: opts.maxRetries ?? 2 });
    this.jobs = jobsApi(this.#t);
    this.datasets = datasetsApi(this.#t);
    this.advice = adviceApi(this.#t);
    this.sweeps = sweepsApi(this.#t);
  }
  get baseUrl() {
    return this.#t.baseUrl;
  }
  /** An absolute URL for an API path (or a path the API returned, such as a signed download URL). */
  url(p, query) {
    return this.#t.url(p, query);
  }
  /** Sends one request, retrying where that is safe; returns the response of a 2xx, throws ApiError otherwise. */
  raw(method, p, init) {
    return this.#t.raw(method, p, init);
  }
  models = {
    /** POST /v1/models: a TensorFlow.js LayersModel at s3://bucket/prefix/model.json. */
    register: (body, opts) => this.#t.json("POST", "/v1/models", { body, ...opts }),
    list: (q = {}, opts) => this.#t.json("GET", "/v1/models", { query: q, ...opts }),
    all: (q = {}, opts) => this.#t.all((p) => this.models.list(p, opts), q),
    get: (id, opts) => this.#t.json("GET", `/v1/models/${enc5(id)}`, opts),
    delete: (id, opts) => this.#t.json("DELETE", `/v1/models/${enc5(id)}`, opts),
    /** A short-lived URL that loads the model without a key; `url` is the API's path, `href` the absolute URL. */
    downloadUrl: async (id, opts) => {
      const signed = await this.#t.json("POST", `/v1/models/${enc5(id)}/download-url`, opts);
      return { ...signed, href: this.url(signed.url) };
    },
    /** One of the model's files, as bytes (in Node, downloadModel writes both into a folder); 'model.keras' is the model as a Keras 3 file. */
    file: (id, file, opts) => this.#t.bytes(`/v1/models/${enc5(id)}/${file.split("/").map(enc5).join("/")}`, opts)
  };
  uploads = {
    /** POST /v1/uploads: a presigned PUT URL for one file in the caller's upload area, and its s3:// URI. */
    create: (body, opts) => this.#t.json("POST", "/v1/uploads", { body, ...opts }),
    /** Puts `bytes` in the caller's upload area as `name` (straight to S3); resolves with the s3:// URI to register. */
    put: async (name, bytes, opts) => {
      const upload = await this.uploads.create({ name }, opts);
      const res = await this.#t.fetch(upload.url, { method: upload.method, body: bytes, signal: opts?.signal }).catch((err) => {
        throw new ApiError(0, "connection_failed", `Could not reach S3 at ${new URL(upload.url).origin}: ${err.message}`);
      });
      if (!res.ok) throw new ApiError(res.status, `s3_${res.status}`, `S3 refused the upload: ${(await res.text()).slice(0, 200)}`);
      return upload.uri;
    }
  };
  /** The operator's routes: a client made with ADMIN_API_KEY as its key. */
  admin = {
    tenants: {
      create: (body, opts) => this.#t.json("POST", "/v1/admin/tenants", { body, ...opts }),
      list: (opts) => this.#t.json("GET", "/v1/admin/tenants", opts)
    },
    keys: {
      /** A new key for the tenant; `key` is in this response only. */
      create: (tenantId, body = {}, opts) => this.#t.json("POST", `/v1/admin/tenants/${enc5(tenantId)}/keys`, { body, ...opts }),
      list: (tenantId, opts) => this.#t.json("GET", `/v1/admin/tenants/${enc5(tenantId)}/keys`, opts),
      revoke: (keyId, opts) => this.#t.json("POST", `/v1/admin/keys/${enc5(keyId)}/revoke`, opts)
    }
  };
  health = {
    live: () => this.#t.json("GET", "/healthz"),
    ready: async () => {
      const res = await this.#t.fetch(this.url("/readyz"), { headers: { accept: "application/json" } });
      return await res.json();
    }
  };
};
export {
  ApiError,
  FinetuneClient
};
