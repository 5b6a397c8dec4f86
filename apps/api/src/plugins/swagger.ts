// The OpenAPI document is generated from the same route schemas that validate requests.
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';

export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Fine-tuning service', version: '1.0.0', description: 'Submit fine-tuning jobs, follow them, and fetch the trained models.' },
        tags: [{ name: 'datasets' }, { name: 'models' }, { name: 'jobs' }, { name: 'health' }],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'public' } }, async () => app.swagger());
  },
  { name: 'swagger' },
);
