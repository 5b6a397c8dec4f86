// Runs the webhook dispatcher in the API process for as long as the app lives.
import fp from 'fastify-plugin';
import type { Config } from '../../../shared/config.ts';
import { WebhookDispatcher } from '../services/webhook-dispatcher.ts';

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const dispatcher = new WebhookDispatcher(app.db, config.webhooks, app.log.child({ component: 'webhooks' }));
    let stopped = false;
    let pass: Promise<unknown> = Promise.resolve();
    const loop = async () => {
      while (!stopped) {
        pass = dispatcher.runOnce().catch((err: Error) => app.log.warn({ err: err.message }, 'webhook pass failed'));
        const attempted = await pass;
        // Busy: go straight on. Idle: wait for the next poll.
        if (attempted === 0 || typeof attempted !== 'number') await new Promise((r) => setTimeout(r, config.webhooks.pollMs).unref());
      }
    };
    app.addHook('onReady', async () => {
      void loop();
    });
    app.addHook('onClose', async () => {
      stopped = true;
      await pass;
    });
  },
  { name: 'webhooks', dependencies: ['db'] },
);
