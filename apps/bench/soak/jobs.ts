// The soak's jobs: submitted once each through the typed client, polled, and
// watched for stalls (a job with no visible progress, with where Postgres and
// BullMQ have it).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ApiError, type CreateJobInput, type FinetuneClient, type Job } from '../../client/index.ts';
import type { SoakEnv } from './environment.ts';
import { say, sleep } from './log.ts';
import { IN_LINE, STALL_MS, TERMINAL } from './options.ts';
import type { Stats } from './stats.ts';

const ARCHITECTURE: CreateJobInput['architecture'] = [
  { type: 'flatten' },
  { type: 'dense', units: 32, activation: 'relu' },
  { type: 'dense', units: 5, activation: 'softmax' },
];

export class SoakJobs {
  /** Every accepted job, as last seen. */
  readonly accepted = new Map<string, Job>();
  readonly #queue: Queue;
  readonly #seen = new Map<string, { key: string; since: number; reported: boolean }>();

  constructor(private readonly client: FinetuneClient, private readonly env: SoakEnv, queueName: string, redis: Redis, private readonly stats: Stats) {
    this.#queue = new Queue(queueName, { connection: redis });
  }

  /** The dataset, then `count` small pretrain jobs on it (4 to 6 epochs). */
  async submit(count: number): Promise<void> {
    const ds = await this.client.datasets.create(
      { name: 'soak digits 0-4', source: { type: 'mnist', split: 'train', classes: [0, 1, 2, 3, 4], count: 2000 } },
      { idempotencyKey: `soak-${this.env.runId}-dataset` },
    );
    say(`dataset ${ds.id}: ${ds.numExamples} examples`);
    for (let i = 0; i < count; i++) {
      const body: CreateJobInput = {
        type: 'pretrain',
        name: `soak ${i + 1}`,
        architecture: ARCHITECTURE,
        hyperparameters: { epochs: 4 + (i % 3), batchSize: 8, learningRate: 0.01, seed: 1000 + i },
        trainDatasetId: ds.id,
      };
      await this.#submitOne(i, body);
    }
    say(`submitted ${count}, accepted ${this.accepted.size}`);
  }

  /** Up to 3 tries, with the same Idempotency-Key: a retry cannot make a second job. */
  async #submitOne(i: number, body: CreateJobInput): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const job = await this.client.jobs.create(body, { idempotencyKey: `soak-${this.env.runId}-job-${i}` });
        this.accepted.set(job.id, job);
        return;
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 0;
        if (attempt >= 3 || (status >= 400 && status < 500)) {
          say(`job ${i + 1} not accepted: ${status} ${JSON.stringify(err instanceof ApiError ? err : { error: (err as Error).message })}`);
          return;
        }
      }
      this.stats.submitRetries++;
      await sleep(1000);
    }
  }

  async poll(): Promise<void> {
    for (const id of this.accepted.keys()) {
      const job = await this.client.jobs.get(id).catch(() => undefined);
      if (job) this.accepted.set(id, job);
    }
  }

  /** Where BullMQ has the job: a state, 'absent', or 'unknown (why)'. */
  queueState(id: string): Promise<string> {
    return this.#queue.getJob(id).then((b) => (b ? b.getState() : 'absent')).catch((err: Error) => `unknown (${err.message})`);
  }

  /** Reports each job with no change in status, epoch or attempts for STALL_MS, once. */
  async watchdog(): Promise<void> {
    for (const j of this.accepted.values()) {
      if (TERMINAL.has(j.status)) continue;
      const key = `${j.status}/${j.progress.epoch}/${j.attempts}`;
      const prev = this.#seen.get(j.id);
      if (!prev || prev.key !== key) {
        this.#seen.set(j.id, { key, since: Date.now(), reported: false });
        continue;
      }
      if (prev.reported || Date.now() - prev.since < STALL_MS) continue;
      const state = await this.queueState(j.id);
      // A queued job still in line in Redis is just waiting its turn.
      if (j.status === 'queued' && IN_LINE.has(state)) continue;
      prev.reported = true;
      this.stats.stalls++;
      const row = await this.env.jobLease(j.id).catch(() => undefined);
      const lease = row?.leaseLeftS != null ? `${row.leaseLeftS.toFixed(1)} s` : 'none';
      say(`no progress for ${STALL_MS / 1000} s: job ${j.id} ${j.status} epoch ${j.progress.epoch}/${j.progress.totalEpochs} attempts ${j.attempts}; lease left ${lease}, token ${row?.leaseToken}; BullMQ state ${state}`);
    }
  }

  unfinished = () => [...this.accepted.values()].filter((j) => !TERMINAL.has(j.status));

  /** "succeeded 3, running 1", in the order first seen. */
  summary(): string {
    const by = new Map<string, number>();
    for (const j of this.accepted.values()) by.set(j.status, (by.get(j.status) ?? 0) + 1);
    return [...by].map(([s, n]) => `${s} ${n}`).join(', ');
  }

  /** Where Redis has each unfinished job: in line or active means slow, absent means nothing would run it. */
  async lostStates(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const j of this.unfinished()) {
      const state = `${j.status}/${await this.queueState(j.id)}`;
      out[state] = (out[state] ?? 0) + 1;
    }
    return out;
  }

  close(): Promise<void> {
    return this.#queue.close().catch(() => undefined);
  }
}
