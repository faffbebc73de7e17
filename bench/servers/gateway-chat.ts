import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createSigner } from '../lib/tokens.ts';
import { REPO, startGateway } from './gateway.ts';
import { fullGatewayConfig } from './gateway-full.ts';
import type { Server, ServerContext } from './server.ts';

/**
 * The gateway in front of the chat service as the platform ships it: the
 * routes to `chat` (the REST API and the WebSocket route) and the `websockets`
 * block are read from config/gateway.yaml, on the full pipeline of
 * gateway-full.ts (access tokens from the identity service's JWKS, revocation
 * feed and rate limiter on Redis, user lookups). What the bench changes, so
 * that it measures the path and not the limits (said in the report):
 */
export const CHAT_GATEWAY_CHANGES = [
  'rate-limit tiers raised to 10⁹ requests a minute: the limiter still runs on every request (in Redis) but never refuses one (shipped: 600 / 3,000 / 12,000 per user a minute on free / standard / premium)',
  'WebSocket caps raised: 1,000,000 tunnels per process and per tenant on every tier (shipped: 10,000 per process; 100 / 1,000 / 10,000 per tenant on free / standard / premium); 16 per user as shipped (each bench user holds one socket)',
] as const;

const SHIPPED = join(REPO, 'config/gateway.yaml');
const RAISED = 1_000_000;

interface Shipped {
  readonly upstream: Record<string, unknown>;
  readonly routes: Record<string, unknown>[];
  readonly websockets: Record<string, unknown>;
}

function shippedChat(): Shipped {
  const config = parse(readFileSync(SHIPPED, 'utf8')) as {
    upstreams?: Record<string, Record<string, unknown>>;
    routes?: { upstream?: string }[];
    websockets?: Record<string, unknown>;
  };
  const upstream = config.upstreams?.chat;
  const routes = (config.routes ?? []).filter((r) => r.upstream === 'chat') as Record<string, unknown>[];
  if (upstream === undefined || !routes.some((r) => r.websocket !== undefined && r.websocket !== false)) {
    throw new Error(`${SHIPPED}: no chat upstream, or no chat route with websocket on`);
  }
  return { upstream, routes, websockets: config.websockets ?? {} };
}

export function chatGatewayConfig(
  port: number,
  adminPort: number,
  urls: { readonly chat: string; readonly identity: string; readonly redis: string },
  /** Gateway processes sharing the Redis limiter (its `instances`). */
  instances: number,
): Record<string, unknown> {
  const shipped = shippedChat();
  // fullGatewayConfig's static keys are replaced by the JWKS: only the identity service's tokens pass.
  const base = fullGatewayConfig(
    port,
    adminPort,
    urls.chat,
    urls.identity,
    urls.redis,
    createSigner('EdDSA'),
  );
  return {
    ...base,
    upstreams: { chat: { ...shipped.upstream, url: urls.chat } },
    routes: shipped.routes,
    rateLimits: { ...(base.rateLimits as Record<string, unknown>), instances },
    websockets: {
      ...shipped.websockets,
      maxConnections: RAISED,
      maxPerTenant: { free: RAISED, standard: RAISED, premium: RAISED },
    },
  };
}

/** One gateway process routing /api/chat (REST and WebSocket) to the chat instance at `urls.chat`. */
export function startChatGateway(
  ctx: ServerContext,
  name: string,
  urls: { readonly chat: string; readonly identity: string; readonly redis: string },
  instances: number,
  assertionSecret: string,
  logLevel: string,
): Promise<Server> {
  return startGateway(ctx, urls.chat, createSigner('EdDSA'), {
    name,
    logLevel,
    assertionSecret,
    config: (port, adminPort) => chatGatewayConfig(port, adminPort, urls, instances),
  });
}
