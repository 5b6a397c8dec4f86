// Stage: prepare data. The job's datasets as splits read in batches (training,
// validation, held out: in memory when small, else streamed from shards), and the peer threads to train on when there is enough data.
import { decodeSource } from '../../../shared/jobs/decode.ts';
import { loadJobData, type JobData } from '../job-data.ts';
import type { GradientPeers } from '../pipeline/peers.ts';
import type { StageContext } from './context.ts';

export interface Prepared {
  data: JobData;
  peers?: GradientPeers;
}

export async function prepareData(s: StageContext): Promise<Prepared> {
  const { job, spec } = s;
  const hp = spec.hyperparameters;
  const source = (d: { id: string; source: unknown }) => ({ source: decodeSource(d.source, d.id) });
  const data = await loadJobData(s.run.storage, spec.labels, source(job.trainDataset), {
    validation: job.validationDataset ? source(job.validationDataset) : undefined,
    test: job.testDataset ? source(job.testDataset) : undefined,
    validationSplit: hp.validationSplit,
    seed: hp.seed,
    inMemoryBytes: s.run.dataInMemoryBytes,
  });
  return { data, peers: await startPeers(s, data.train.numExamples) };
}

/** More threads only pay off on enough data; a pool that cannot start leaves the job on one. */
async function startPeers(s: StageContext, examples: number): Promise<GradientPeers | undefined> {
  const parallel = s.run.parallel;
  if (!parallel || examples < parallel.minExamples) return undefined;
  return parallel.peers().catch((err: Error) => {
    s.log.warn({ err: err.message }, 'training on one thread: peer threads did not start');
    return undefined;
  });
}
