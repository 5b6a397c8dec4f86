// A sweep's trials, planned when it is posted: the grid's combinations in a
// fixed order, or random search's seeded draws; and each trial's job body (the
// base job with the trial's values in their fields).
import { LimitExceededError, UnprocessableError } from '../errors.ts';
import type { CreateJob, LayerSpec } from '../jobs/spec.ts';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { seededRandom } from '../seeded-random.ts';
import { HEAD_KEYS, INTEGER_KEYS, SPACE_KEYS, SweepSpaceSchema, type SpaceKey, type SweepSpace, type SweepSpec, type TrialParams } from './spec.ts';

interface Range { min: number; max: number; scale?: 'linear' | 'log' }
const isRange = (v: unknown): v is Range => !!v && typeof v === 'object' && !Array.isArray(v) && 'min' in v;

/** The schema of one value of dimension k (the list's item: the job field's own bounds); a range's ends must fit it too. */
const valueSchema = (k: SpaceKey) => ((SweepSpaceSchema.properties[k] as { anyOf?: Array<{ items?: TSchema }> }).anyOf?.[0]?.items);

const bad = (message: string, details?: Record<string, unknown>) => new UnprocessableError('invalid_sweep_space', message, details);

/** The dimensions the space names, in SPACE_KEYS' order. */
const dimensions = (space: SweepSpace) => SPACE_KEYS.filter((k) => space[k] !== undefined);

/** Checks what the schema cannot: ranges only in random search, min ≤ max, log scales above 0, no head or cut dimensions for pretraining. */
export function checkSpace(spec: Pick<SweepSpec, 'method' | 'space' | 'job'>): void {
  for (const k of dimensions(spec.space)) {
    const v = spec.space[k];
    if (!isRange(v)) continue;
    if (spec.method === 'grid') throw bad(`space.${k}: a grid takes a list of values, not a range`, { dimension: k });
    if (v.min > v.max) throw bad(`space.${k}: min is above max`, { dimension: k });
    // A draw lands anywhere from min to max, so both ends must be values the job field takes.
    const item = valueSchema(k);
    for (const end of ['min', 'max'] as const) {
      const e = item && Value.Errors(item, v[end]).First();
      if (e) throw bad(`space.${k}.${end}: ${v[end]} is out of the field's bounds (${e.message})`, { dimension: k });
    }
    if (v.scale === 'log' && v.min <= 0) throw bad(`space.${k}: a log scale needs min above 0`, { dimension: k });
  }
  if (spec.job.type === 'pretrain') {
    const k = dimensions(spec.space).find((d) => d === 'cutLayer' || d === 'freeze' || HEAD_KEYS.includes(d));
    if (k) throw bad(`space.${k} applies to fine-tuning only; a pretraining job's model is its architecture`, { dimension: k });
  }
  // An auto job chooses its own options and records no epochs for ASHA's rungs: the sweep is the search.
  if (spec.job.strategy === 'auto') throw bad('job.strategy: "auto" searches on its own; a sweep\'s trials are manual jobs', { field: 'job.strategy' });
  if (spec.job.webhook) throw bad('job.webhook: trials do not call webhooks; follow the sweep instead', { field: 'job.webhook' });
}

/** The grid's size, without building it. */
export const gridSize = (space: SweepSpace) => dimensions(space).reduce((n, k) => n * (space[k] as unknown[]).length, 1);

/** How many trials the sweep runs; over `limit` (MAX_SWEEP_TRIALS) or a grid over maxTrials is a 422. */
export function trialCount(spec: Pick<SweepSpec, 'method' | 'space'> & { maxTrials?: number }, limit: number): number {
  const size = spec.method === 'grid' ? gridSize(spec.space) : spec.maxTrials ?? 10;
  const cap = Math.min(limit, spec.method === 'grid' ? spec.maxTrials ?? limit : limit);
  if (size > cap) {
    const what = spec.method === 'grid' ? `The grid has ${size} combinations` : `${size} random trials`;
    throw new LimitExceededError('sweep_too_large', `${what}; at most ${cap} ${cap === limit ? '(MAX_SWEEP_TRIALS)' : '(maxTrials)'}`, 422, 'MAX_SWEEP_TRIALS', cap, size);
  }
  return size;
}

function draw(k: SpaceKey, v: unknown, random: () => number): unknown {
  if (!isRange(v)) return (v as unknown[])[Math.floor(random() * (v as unknown[]).length)];
  const u = random();
  const x = v.scale === 'log' ? Math.exp(Math.log(v.min) + u * (Math.log(v.max) - Math.log(v.min))) : v.min + u * (v.max - v.min);
  return INTEGER_KEYS.includes(k) ? Math.min(v.max, Math.floor(x)) : x;
}

/** Every trial's values: the grid in order (the last dimension fastest), or `count` seeded draws. */
export function planTrials(spec: Pick<SweepSpec, 'method' | 'space' | 'seed'>, count: number): TrialParams[] {
  const dims = dimensions(spec.space);
  if (spec.method === 'random') {
    const random = seededRandom(spec.seed);
    return Array.from({ length: count }, () => Object.fromEntries(dims.map((k) => [k, draw(k, spec.space[k], random)])));
  }
  let out: TrialParams[] = [{}];
  for (const k of dims) out = out.flatMap((p) => (spec.space[k] as unknown[]).map((v) => ({ ...p, [k]: v })));
  return out.slice(0, count);
}

/** headLayers × [dense(headUnits, relu), dropout] and the output layer; defaults 1 × 64 units, no dropout. */
function head(p: TrialParams, classes: number): LayerSpec[] {
  const layers: LayerSpec[] = [];
  for (let i = 0; i < ((p.headLayers as number | undefined) ?? 1); i++) {
    layers.push({ type: 'dense', units: (p.headUnits as number | undefined) ?? 64, activation: 'relu' });
    if (p.dropout) layers.push({ type: 'dropout', rate: p.dropout as number });
  }
  return [...layers, { type: 'dense', units: classes, activation: 'softmax' }];
}

/** The trial's job: the base with the trial's values; its best checkpoint is picked by the sweep's objective. */
export function trialBody(spec: SweepSpec, p: TrialParams, index: number, classes: number): CreateJob {
  const hp = { ...spec.job.hyperparameters, bestCheckpointMetric: spec.objective.metric };
  for (const k of ['learningRate', 'optimizer', 'batchSize', 'epochs'] as const) if (p[k] !== undefined) Object.assign(hp, { [k]: p[k] });
  const body: CreateJob = { ...spec.job, name: `${spec.name ?? spec.job.name ?? 'sweep'} · trial ${index}`, hyperparameters: hp };
  if (p.cutLayer !== undefined) body.cutLayer = p.cutLayer as CreateJob['cutLayer'];
  if (p.freeze !== undefined) body.freeze = p.freeze as CreateJob['freeze'];
  if (HEAD_KEYS.some((k) => p[k] !== undefined)) body.head = head(p, classes);
  return body;
}
