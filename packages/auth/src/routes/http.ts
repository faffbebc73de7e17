import type {} from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type { ServiceHooks } from '@gatehouse/kit/service';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthConfig } from '../config.ts';
import type { RequestMeta } from '../domain/services.ts';
import { authError } from '../errors.ts';

export function meta(req: FastifyRequest): RequestMeta {
  return { ip: req.ip, requestId: req.id };
}

/**
 * The refresh cookie: `__Host-` (Secure, Path=/, no Domain), HttpOnly,
 * SameSite=Strict. Only the explicit development switch over plain http drops
 * Secure and, with it, the `__Host-` prefix that requires it.
 */
export function refreshCookieName(config: AuthConfig): string {
  return config.cookies.insecureDev ? 'gh_refresh' : '__Host-gh_refresh';
}

export function setRefreshCookie(reply: FastifyReply, config: AuthConfig, token: string): void {
  reply.setCookie(refreshCookieName(config), token, {
    path: '/',
    httpOnly: true,
    secure: !config.cookies.insecureDev,
    sameSite: 'strict',
    maxAge: config.tokens.refreshTtlSeconds,
  });
}

export function clearRefreshCookie(reply: FastifyReply, config: AuthConfig): void {
  reply.clearCookie(refreshCookieName(config), {
    path: '/',
    httpOnly: true,
    secure: !config.cookies.insecureDev,
    sameSite: 'strict',
  });
}

/**
 * A request authenticated by a cookie alone could be forged by another site:
 * its `Origin` must be one of ours. A token in the body needs no such check
 * (another site cannot know it).
 */
export function checkOrigin(req: FastifyRequest, config: AuthConfig): void {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || !config.allowedOrigins.includes(origin)) {
    throw authError('AUTH_CSRF', 'the Origin header is missing or not allowed');
  }
}

export function refreshTokenFrom(
  req: FastifyRequest,
  config: AuthConfig,
  fromBody: string | undefined,
): string | undefined {
  if (fromBody !== undefined) return fromBody;
  const cookie = req.cookies[refreshCookieName(config)];
  if (cookie === undefined || cookie === '') return undefined;
  checkOrigin(req, config);
  return cookie;
}

export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

/** The signed-identity checks of kit's service template. */
export type RouteHooks = ServiceHooks;
