// A job's spec, decoded once per instance (issue 19). A status poll or a list
// page used to parse and schema-check every spec it sent (the largest share of
// a list's CPU in Node). The hot reads fetch the spec as text; this keeps, per
// job id, the text and what it decoded to (checked and deep-frozen, see
// checkedOnce), and hands the decoded value back while the text is the same.
// Comparing the whole text, not trusting the id alone, means a spec rewritten
// in Postgres by anything is decoded afresh: never a stale spec.
import { checkedOnce, decodeSpec } from '../../../shared/jobs/decode.ts';
import type { JobSpec } from '../../../shared/jobs/spec.ts';

/** Entries kept; the oldest goes first. Specs are a few KB, so this bounds it to a few MB. */
const MAX_ENTRIES = 2_000;

export class SpecCache {
  readonly #byId = new Map<string, { text: string; spec: JobSpec }>();

  constructor(private readonly max = MAX_ENTRIES) {}

  /** The spec `text` (or an already-parsed value, as Prisma reads it) decoded: a 500 if it does not fit its schema. */
  get(id: string, text: unknown): JobSpec {
    // A parsed value is the caller's own object: checked, not cached, and not frozen under it.
    if (typeof text !== 'string') return decodeSpec(text, id);
    const hit = this.#byId.get(id);
    if (hit && hit.text === text) return hit.spec;
    const spec = checkedOnce(decodeSpec, JSON.parse(text), id);
    if (hit) this.#byId.delete(id);
    else if (this.#byId.size >= this.max) this.#byId.delete(this.#byId.keys().next().value!);
    this.#byId.set(id, { text, spec });
    return spec;
  }

  get size(): number {
    return this.#byId.size;
  }
}
