// Stage: resume. A later attempt, or a job a pause or shutdown interrupted,
// continues from its checkpoint; what was recorded past it is dropped.
import { findResume } from '../resume.ts';
import type { ModelParts } from '../pipeline/freeze.ts';
import type { ResumeFrom } from '../pipeline/train.ts';
import type { StageContext } from './context.ts';

export async function resumePoint(s: StageContext, parts: ModelParts): Promise<ResumeFrom | null> {
  const { claim, records } = s;
  if (claim.attempt <= 1 && !claim.resumePoint) return null;
  const resume = await findResume(s.run.db, s.run.storage, s.jobId, parts, claim.resumePoint);
  await records.dropAfter(resume?.epoch ?? 0);
  if (resume) {
    await records.event('attempt', { attempt: claim.attempt, resumeFrom: { epoch: resume.epoch, batch: resume.batch } });
    s.log.info({ epoch: resume.epoch, batch: resume.batch }, 'resuming from a checkpoint');
  }
  return resume;
}
