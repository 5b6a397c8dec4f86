// A checkpoint's files over HTTP, laid out like a model's so that
// tf.loadLayersModel('<api>/v1/jobs/<id>/checkpoints/<epoch>/model.json') finds
// weights.bin beside it. The dashboard's checkpoint download links use it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../schemas/common.ts';
import { NotFoundError } from '../../../shared/errors.ts';
import { Uuid } from '../../../shared/jobs/spec.ts';
import { tenantOf } from '../plugins/auth.ts';

const CheckpointFileParams = Type.Object({
  id: Uuid,
  epoch: Type.Integer({ minimum: 1, maximum: 100_000 }),
  file: Type.Union([Type.Literal('model.json'), Type.Literal('weights.bin')]),
});

const checkpointFiles: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/jobs/:id/checkpoints/:epoch/:file', {
    schema: {
      tags: ['jobs'],
      summary: 'Download a checkpoint file (model.json or weights.bin) written after an epoch',
      params: CheckpointFileParams,
      response: { 200: { description: 'The file', type: 'string', format: 'binary' }, ...errorResponses },
    },
    handler: async (req, reply) => {
      const { id, epoch, file } = req.params;
      const job = await app.db.job.findFirst({ where: { id, tenantId: tenantOf(req) }, select: { id: true } });
      if (!job) throw new NotFoundError('job', id);
      const checkpoint = await app.db.checkpoint.findUnique({ where: { jobId_epoch: { jobId: id, epoch } } });
      if (!checkpoint) throw new NotFoundError('checkpoint', `${id}/${epoch}`);
      const bytes = await app.storage.getBytes(checkpoint.prefix + file);
      const type = file === 'model.json' ? 'application/json' : 'application/octet-stream';
      return reply.type(type).header('content-disposition', `attachment; filename="${file}"`).send(Buffer.from(bytes));
    },
  });
};

export default checkpointFiles;
