// Background validation of image datasets and large CSV/NDJSON files (issue
// 17). POST /v1/datasets answers 202 with a `validating` row; this reads and
// decodes every object in the API process. That is safe for the event loop
// because the heavy work is off it or cut small: sharp decodes on libvips' own
// threads, S3 reads are async I/O, and a file's rows are parsed a socket chunk
// at a time (the loop turns while the next chunk is awaited); only bookkeeping
// and that parsing run on the loop. (A BullMQ job would put sharp in the
// worker, which loads TensorFlow, for no gain in isolation.) A process that
// dies mid-way leaves a row whose heartbeat goes stale: any API process's
// sweep (at startup and every SWEEP_MS) fails it and deletes its objects.
import type { Db } from '../../../shared/db/prisma.ts';
import type { Prisma } from '../../../shared/generated/prisma/client.ts';
import { AppError } from '../../../shared/errors.ts';
import type { DatasetProfile } from '../../../shared/data/dataset-source.ts';
import type { RegistrationProgress } from '../../../shared/data/images/register.ts';
import type { Storage } from '../../../shared/storage/s3-storage.ts';

/** A validating process writes its heartbeat at least this often (more often while progress moves). */
export const HEARTBEAT_MS = 5_000;
/** A heartbeat older than this means the process validating the row is gone. */
export const STALE_MS = 30_000;
const SWEEP_MS = 15_000;
/** Progress reaches Postgres at most this often: a 50,000-object prefix is not 50,000 writes. */
const PROGRESS_WRITE_MS = 500;

export interface StoredError {
  code: string;
  status: number;
  message: string;
  details?: unknown;
}

/** Runs one registration: validates, prepares and stores, reporting progress; aborts on the signal. */
export type RegisterFn = (id: string, signal: AbortSignal, onProgress: (p: RegistrationProgress) => void) => Promise<DatasetProfile>;

export interface ValidatorDeps {
  db: Db;
  storage: Storage;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

const json = (v: unknown) => v as Prisma.InputJsonValue;

function storedError(err: unknown): StoredError {
  if (err instanceof AppError) return { code: err.code, status: err.statusCode, message: err.message, ...(err.details ? { details: err.details } : {}) };
  return { code: 'internal_error', status: 500, message: 'The registration failed unexpectedly; see the server log' };
}

const INTERRUPTED: StoredError = { code: 'registration_interrupted', status: 503, message: 'The API process validating this dataset stopped before it finished; nothing was kept. Register it again.' };

export class DatasetValidator {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly deps: ValidatorDeps) {}

  /** Starts validating the (already inserted, `validating`) row in the background. */
  start(id: string, register: RegisterFn): void {
    const abort = new AbortController();
    const done = this.run(id, register, abort).finally(() => this.running.delete(id));
    this.running.set(id, { abort, done });
  }

  private async run(id: string, register: RegisterFn, abort: AbortController): Promise<void> {
    const { db, storage, log } = this.deps;
    const signal = abort.signal;
    let latest: RegistrationProgress | undefined;
    let lastWrite = 0;
    let writing: Promise<void> | undefined;
    const write = () => {
      lastWrite = Date.now();
      writing = db.dataset
        .updateMany({ where: { id, status: 'validating' }, data: { heartbeatAt: new Date(), ...(latest ? { progress: json(latest) } : {}) } })
        .then(
          // No longer validating: cancelled through another API process (or swept); stop here too.
          (r) => void (r.count === 0 && abort.abort(new Error('cancelled'))),
          (err: unknown) => log.warn({ err, datasetId: id }, 'dataset progress write failed'),
        )
        .finally(() => (writing = undefined));
    };
    const heartbeat = setInterval(() => writing ?? write(), HEARTBEAT_MS);
    heartbeat.unref();
    const onProgress = (p: RegistrationProgress) => {
      latest = p;
      if (!writing && Date.now() - lastWrite >= PROGRESS_WRITE_MS) write();
    };
    const settle = async (data: Prisma.DatasetUpdateManyMutationInput) => {
      clearInterval(heartbeat);
      await writing;
      // Only a row still validating: a cancel (or a sweep) may have ended it meanwhile.
      return (await db.dataset.updateMany({ where: { id, status: 'validating' }, data: { ...data, heartbeatAt: null, ...(latest ? { progress: json(latest) } : {}) } })).count === 1;
    };
    try {
      const p = await register(id, signal, onProgress);
      const ready = await settle({ status: 'ready', source: json(p.source), featureShape: p.featureShape, numExamples: p.numExamples, labels: p.labels, classCounts: json(p.classCounts) });
      if (!ready) await storage.deletePrefix(`datasets/${id}/`);
    } catch (err) {
      const error = signal.aborted ? INTERRUPTED : storedError(err);
      if (error.code === 'internal_error') log.error({ err, datasetId: id }, 'dataset registration failed');
      await settle({ status: 'failed', error: json(error) }).catch((e: unknown) => log.error({ err: e, datasetId: id }, 'could not record the failed registration'));
      // registerImages deleted what it wrote; this covers a failure around it.
      await storage.deletePrefix(`datasets/${id}/`).catch(() => undefined);
    }
  }

  /** Stops this process's validation of `id` (if it runs here) and waits until its objects are deleted. */
  async stop(id: string): Promise<void> {
    const r = this.running.get(id);
    if (!r) return;
    r.abort.abort(new Error('cancelled'));
    await r.done;
  }

  /** Fails every validating row whose process is gone (stale heartbeat) and deletes its objects. */
  async sweep(now = Date.now()): Promise<number> {
    const { db, storage } = this.deps;
    const isStale = { status: 'validating' as const, OR: [{ heartbeatAt: null }, { heartbeatAt: { lt: new Date(now - STALE_MS) } }] };
    const stale = await db.dataset.findMany({ where: isStale, select: { id: true } });
    let failed = 0;
    for (const { id } of stale) {
      if (this.running.has(id)) continue;
      // Still stale as it is failed: a late heartbeat or a registration that just finished keeps its row and objects.
      const n = await db.dataset.updateMany({ where: { id, ...isStale }, data: { status: 'failed', error: json(INTERRUPTED), heartbeatAt: null } });
      if (n.count === 1) failed += 1;
      // Not failed here: a ready or revived registration keeps its objects; one another sweep (or a
      // cancel) ended holds none, and deleting again waits for them to be gone, as a lone sweep would.
      const status = n.count === 1 ? 'failed' : (await db.dataset.findUnique({ where: { id }, select: { status: true } }))?.status;
      if (status === 'failed' || status === 'cancelled') await storage.deletePrefix(`datasets/${id}/`);
    }
    return failed;
  }

  /** The sweep now and every SWEEP_MS; errors are logged (Postgres may be down for a while). */
  startSweeping(): Promise<void> {
    const tick = () => this.sweep().then(() => undefined, (err: unknown) => this.deps.log.warn({ err }, 'dataset validation sweep failed'));
    this.sweeper = setInterval(() => void tick(), SWEEP_MS);
    this.sweeper.unref();
    return tick();
  }

  /** Shutdown: stop every validation here; each ends `failed` (registration_interrupted) with its objects deleted. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.running.values()];
    for (const r of all) r.abort.abort(new Error('shutdown'));
    await Promise.all(all.map((r) => r.done));
  }
}
