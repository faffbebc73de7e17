import type { FastifyInstance } from 'fastify';
import type { BillingService } from '../domain/billing.ts';
import { billError } from '../errors.ts';
import type { PaymentProvider } from '../providers/provider.ts';
import { problem } from './schemas.ts';

/**
 * Provider webhooks. The body is kept as the exact bytes received (the
 * signature is over them; parsed and re-serialised JSON would not verify).
 * Anything that does not verify is a 400 and a security log line; a duplicate
 * is a 200 that changes nothing.
 */
export async function webhookRoutes(
  app: FastifyInstance,
  billing: BillingService,
  provider: PaymentProvider,
): Promise<void> {
  await app.register(async function rawBodyScope(scope) {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 256 * 1024 }, (_req, body, done) =>
      done(null, body),
    );

    scope.post<{ Params: { provider: string }; Body: Buffer }>(
      '/api/billing/webhooks/:provider',
      {
        schema: {
          tags: ['webhooks'],
          summary: 'Payment provider events (Stripe signature scheme; 300 s tolerance)',
          params: { type: 'object', required: ['provider'], properties: { provider: { type: 'string' } } },
          response: {
            200: {
              type: 'object',
              properties: { received: { type: 'boolean' }, duplicate: { type: 'boolean' } },
            },
            400: problem,
            404: problem,
          },
        },
      },
      async (req, reply) => {
        if (req.params.provider !== provider.name) throw billError('BILL_NOT_FOUND', 'no such webhook');
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const signature = req.headers['stripe-signature'];
        try {
          const result = await billing.handleWebhook(
            body,
            typeof signature === 'string' ? signature : undefined,
          );
          req.log.info(
            { webhook: provider.name, outcome: result.outcome, duplicate: result.duplicate },
            'webhook handled',
          );
          return reply.send({ received: true, duplicate: result.duplicate });
        } catch (err) {
          if ((err as { code?: unknown }).code === 'WEBHOOK_REFUSED') {
            req.log.warn(
              {
                security: true,
                event: 'webhook_refused',
                reason: (err as { reason?: string }).reason,
                ip: req.ip,
              },
              'webhook refused',
            );
            throw billError('BILL_WEBHOOK_REFUSED');
          }
          throw err;
        }
      },
    );
  });
}
