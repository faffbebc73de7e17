import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type StartedServer, startHttpServer } from '@gatehouse/kit/testing';

/**
 * A local HTTP server that answers as Stripe's API does for the calls the
 * adapter makes (customers, payment intents, checkout sessions), with
 * idempotency keys honoured and card errors in Stripe's error shape. The SDK
 * talks to it through its host/port/protocol options: no test reaches the internet.
 */
export interface FakeStripe {
  readonly api: { host: string; port: number; protocol: 'http' };
  readonly secretKey: string;
  /** Requests seen: method, path, idempotency key. */
  readonly requests: { method: string; path: string; idempotencyKey: string | undefined }[];
  /** Customers (or tenants, by the customer's metadata) whose cards are declined. */
  readonly declining: Set<string>;
  /** Makes the next N requests answer 500 (an outage). */
  fail(n: number): void;
  /** Sets a payment intent's status as Stripe would after the fact. */
  setStatus(paymentIntentId: string, status: string): void;
  paymentIntent(id: string): Record<string, unknown> | undefined;
  close(): Promise<void>;
}

function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const parts = rawKey.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let target = out as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      target[part] ??= {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts.at(-1) as string] = value;
  }
  return out;
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

export async function startFakeStripe(): Promise<FakeStripe> {
  const secretKey = `sk_test_${randomBytes(16).toString('hex')}`;
  const customers = new Map<string, Record<string, unknown>>();
  const intents = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { status: number; body: string }>();
  const requests: FakeStripe['requests'] = [];
  const declining = new Set<string>();
  let failures = 0;

  function send(res: ServerResponse, status: number, body: unknown): { status: number; body: string } {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': newId('req') });
    res.end(text);
    return { status, body: text };
  }

  function route(method: string, path: string, params: Record<string, unknown>): [number, unknown] {
    const customerPath = /^\/v1\/customers\/([^/]+)$/.exec(path);
    const intentPath = /^\/v1\/payment_intents\/([^/]+)$/.exec(path);
    if (method === 'POST' && path === '/v1/customers') {
      const customer = {
        id: newId('cus'),
        object: 'customer',
        metadata: params.metadata ?? {},
        invoice_settings: { default_payment_method: newId('pm') },
      };
      customers.set(customer.id, customer);
      return [200, customer];
    }
    if (method === 'GET' && customerPath !== null) {
      const customer = customers.get(customerPath[1] as string);
      return customer === undefined
        ? [
            404,
            {
              error: { type: 'invalid_request_error', code: 'resource_missing', message: 'No such customer' },
            },
          ]
        : [200, customer];
    }
    if (method === 'POST' && path === '/v1/payment_intents') {
      const customer = String(params.customer);
      const tenantId = (customers.get(customer)?.metadata as { tenantId?: string } | undefined)?.tenantId;
      const declined = declining.has(customer) || (tenantId !== undefined && declining.has(tenantId));
      const intent = {
        id: newId('pi'),
        object: 'payment_intent',
        amount: Number(params.amount),
        currency: params.currency,
        customer,
        description: params.description,
        metadata: params.metadata ?? {},
        status: declined ? 'requires_payment_method' : 'succeeded',
      };
      intents.set(intent.id, intent);
      if (declined)
        return [
          402,
          {
            error: {
              type: 'card_error',
              code: 'card_declined',
              decline_code: 'insufficient_funds',
              message: 'Your card has insufficient funds.',
              payment_intent: intent,
            },
          },
        ];
      return [200, intent];
    }
    if (method === 'GET' && intentPath !== null) {
      const intent = intents.get(intentPath[1] as string);
      return intent === undefined
        ? [
            404,
            {
              error: {
                type: 'invalid_request_error',
                code: 'resource_missing',
                message: 'No such payment_intent',
              },
            },
          ]
        : [200, intent];
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      const session = {
        id: newId('cs'),
        object: 'checkout.session',
        mode: params.mode,
        customer: params.customer,
      };
      return [200, { ...session, url: `https://checkout.stripe.test/c/${session.id}` }];
    }
    return [
      404,
      { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path})` } },
    ];
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://stripe.test');
    const key = req.headers['idempotency-key'] as string | undefined;
    requests.push({ method: req.method ?? '', path: url.pathname, idempotencyKey: key });
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      send(res, 401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
      return;
    }
    if (failures > 0) {
      failures--;
      send(res, 500, { error: { type: 'api_error', message: 'Something went wrong on our end' } });
      return;
    }
    const cacheKey = key === undefined ? undefined : `${req.method} ${url.pathname} ${key}`;
    const replay = cacheKey === undefined ? undefined : idempotent.get(cacheKey);
    if (replay !== undefined) {
      res.writeHead(replay.status, { 'content-type': 'application/json', 'idempotent-replayed': 'true' });
      res.end(replay.body);
      return;
    }
    const [status, body] = route(
      req.method ?? 'GET',
      url.pathname,
      parseForm(Buffer.concat(chunks).toString('utf8')),
    );
    const sent = send(res, status, body);
    if (cacheKey !== undefined && status < 500) idempotent.set(cacheKey, sent);
  }

  const server: StartedServer = await startHttpServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const url = new URL(server.url);
  return {
    api: { host: url.hostname, port: Number(url.port), protocol: 'http' },
    secretKey,
    requests,
    declining,
    fail(n) {
      failures = n;
    },
    setStatus(id, status) {
      const intent = intents.get(id);
      if (intent === undefined) throw new Error(`fake stripe: no payment intent ${id}`);
      intent.status = status;
    },
    paymentIntent: (id) => intents.get(id),
    close: () => server.close(),
  };
}
