// Sends each finished job to its webhook, from Postgres like an outbox: a pass
// creates a delivery for every finished job that has a webhook and none yet,
// claims due deliveries (SKIP LOCKED, so any number of API instances share the
// work), POSTs them signed, and records every attempt; failures retry with
// exponential backoff until WEBHOOK_MAX_ATTEMPTS. Each attempt resolves and checks
// the URL's host first and connects only to the addresses it checked; a refused
// URL or address fails the delivery at once (see outbound-url.ts).
import type { Config } from '../../../shared/config.ts';
import type { Db } from '../../../shared/db/prisma.ts';
import type { FastifyBaseLogger } from 'fastify';
import { OutboundUrlError, postToTarget, resolveAndCheck } from '../../../shared/net/outbound-url.ts';
import { signWebhook, SIGNATURE_HEADER } from '../../../shared/webhooks/signature.ts';
import { jobView } from './jobs.ts';

interface Claimed {
  id: string;
  jobId: string;
  event: string;
  url: string;
  attempts: number;
}

interface Attempt {
  at: string;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

/** A claim holds a delivery this long; a dispatcher that dies mid-send lets it go. */
const CLAIM_MS = 60_000;
const MAX_DELAY_MS = 3_600_000;

export class WebhookDispatcher {
  constructor(
    private readonly db: Db,
    private readonly config: Config['webhooks'],
    private readonly log: FastifyBaseLogger,
  ) {}

  /** One pass; returns how many deliveries it attempted. */
  async runOnce(): Promise<number> {
    await this.db.$executeRaw`
      INSERT INTO "WebhookDelivery" ("id", "jobId", "event", "url")
      SELECT gen_random_uuid(), j."id", 'job.' || j."status", j."webhookUrl" FROM "Job" j
      WHERE j."webhookUrl" IS NOT NULL AND j."status" IN ('succeeded', 'failed', 'cancelled')
        AND NOT EXISTS (SELECT 1 FROM "WebhookDelivery" d WHERE d."jobId" = j."id")
      ON CONFLICT DO NOTHING`;
    const due = await this.db.$queryRaw<Claimed[]>`
      UPDATE "WebhookDelivery" SET "nextAttemptAt" = now() + make_interval(secs => ${CLAIM_MS / 1000})
      WHERE "id" IN (
        SELECT "id" FROM "WebhookDelivery" WHERE "status" = 'pending' AND "nextAttemptAt" <= now()
        ORDER BY "nextAttemptAt" LIMIT 10 FOR UPDATE SKIP LOCKED)
      RETURNING "id", "jobId", "event", "url", "attempts"`;
    await Promise.all(due.map((d) => this.deliver(d)));
    return due.length;
  }

  private async deliver(d: Claimed): Promise<void> {
    const job = await this.db.job.findUnique({ where: { id: d.jobId }, include: { outputModel: { select: { id: true } } } });
    if (!job?.webhookSecret) return;
    const body = JSON.stringify({ id: d.id, event: d.event, createdAt: new Date().toISOString(), job: jobView(job) });
    const started = Date.now();
    const attempt: Attempt = { at: new Date(started).toISOString(), durationMs: 0 };
    // One deadline for DNS, connect and the response's status line.
    const signal = AbortSignal.timeout(this.config.timeoutMs);
    let refused: OutboundUrlError | undefined;
    try {
      const target = await resolveAndCheck(d.url, this.config, { signal });
      // Redirects are not followed: a 3xx counts as a failed attempt.
      attempt.statusCode = await postToTarget(
        target,
        {
          'content-type': 'application/json',
          'user-agent': 'finetune-service-webhooks/1',
          'webhook-id': d.id,
          'webhook-event': d.event,
          [SIGNATURE_HEADER]: signWebhook(job.webhookSecret, body),
        },
        body,
        signal,
      );
    } catch (err) {
      // A refusal is the same on every retry (and retrying would keep probing the
      // address for whoever chose it), so the delivery fails now.
      if (err instanceof OutboundUrlError) refused = err;
      attempt.error = refused ? refused.reason : signal.aborted ? 'timeout' : (err as Error).message;
    }
    attempt.durationMs = Date.now() - started;
    const ok = attempt.statusCode !== undefined && attempt.statusCode >= 200 && attempt.statusCode < 300;
    const attempts = d.attempts + 1;
    const gaveUp = !ok && (refused !== undefined || attempts >= this.config.maxAttempts);
    const delay = Math.min(MAX_DELAY_MS, this.config.retryBaseMs * 2 ** (attempts - 1));
    await this.db.$executeRaw`
      UPDATE "WebhookDelivery" SET
        "attempts" = ${attempts},
        "attemptLog" = "attemptLog" || ${JSON.stringify([attempt])}::jsonb,
        "status" = ${ok ? 'delivered' : gaveUp ? 'failed' : 'pending'},
        "deliveredAt" = ${ok ? new Date() : null},
        "nextAttemptAt" = ${new Date(Date.now() + delay)}
      WHERE "id" = ${d.id}::uuid`;
    const fields = { deliveryId: d.id, jobId: d.jobId, attempt: attempts, statusCode: attempt.statusCode, error: attempt.error };
    if (ok) this.log.info(fields, 'webhook delivered');
    else this.log.warn({ ...fields, gaveUp, refused: refused?.details }, 'webhook delivery failed');
  }
}
