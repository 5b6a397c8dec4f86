// The baseline: a bare Fastify hello-world, in its own process like the API,
// so the table shows what the framework and the machine allow at best.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
console.log(`hello listening ${JSON.stringify(app.server.address())}`);
