// A checkpoint's files over HTTP, laid out like a model's so that
// tf.loadLayersModel('<api>/v1/jobs/<id>/checkpoints/<epoch>/model.json') finds
// weights.bin beside it. The dashboard's checkpoint download links use it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { EXAMPLE_ID, errorResponses } from '../schemas/common.ts';
import { ModelFileResponse } from '../schemas/models.ts';
import { Uuid } from '../../../shared/jobs/spec.ts';
import { tenantOf } from '../plugins/auth.ts';

const CheckpointFileParams = Type.Object({
  id: Type.String({ ...Uuid, examples: [EXAMPLE_ID] }),
  epoch: Type.Integer({ minimum: 1, maximum: 100_000, examples: [1] }),
  file: Type.Union([Type.Literal('model.json'), Type.Literal('weights.bin')], { examples: ['model.json'] }),
});

const checkpointFiles: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/jobs/:id/checkpoints/:epoch/:file', {
    schema: {
      tags: ['jobs'],
      operationId: 'downloadCheckpointFile',
      summary: 'Download a checkpoint file (model.json or weights.bin) written after an epoch',
      description: "Laid out for tf.loadLayersModel('<api>/v1/jobs/<id>/checkpoints/<epoch>/model.json'), which fetches weights.bin beside it. Sent as an attachment.",
      params: CheckpointFileParams,
      response: {
        200: ModelFileResponse,
        ...errorResponses({ 404: ['job_not_found', 'checkpoint_not_found', 'object_not_found'], 503: ['storage_unavailable'] }),
      },
    },
    handler: async (req, reply) => {
      const { id, epoch, file } = req.params;
      const bytes = await app.checkpointService.file(tenantOf(req), id, epoch, file);
      const type = file === 'model.json' ? 'application/json' : 'application/octet-stream';
      return reply.type(type).header('content-disposition', `attachment; filename="${file}"`).send(Buffer.from(bytes));
    },
  });
};

export default checkpointFiles;
