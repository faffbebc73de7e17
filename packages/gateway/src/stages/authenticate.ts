import type { Logger } from '@gatehouse/kit';
import type { RequestContext } from '../context.ts';
import { gatewayError } from '../errors.ts';
import { type Identity, TokenRejected, type TokenVerifier } from '../identity/verifier.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RequestTracing } from '../tracing.ts';

export const BEARER_CHALLENGE = 'Bearer realm="gatehouse"';
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';
/** One body for every invalid token, whatever the cause: the cause is logged, not told. */
export const INVALID_TOKEN_DETAIL = 'The access token is not valid.';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The one answer for a token that is not valid, whatever the reason (the reason is logged, not told). */
export function invalidTokenError() {
  return gatewayError('GW_INVALID_TOKEN', INVALID_TOKEN_DETAIL, {
    headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE },
  });
}

export interface AuthenticateDeps {
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  readonly onFailure?: (reason: string) => void;
  readonly metrics?: GatewayMetrics;
  readonly tracing?: RequestTracing | undefined;
}

/**
 * Stage 7. Public requests pass without identity (a token on them is ignored
 * and not forwarded). Every other request needs exactly one
 * `Authorization: Bearer` header with a token the verifier accepts.
 */
export function createAuthenticate({ verifier, onFailure, metrics, tracing }: AuthenticateDeps) {
  const cacheHit = metrics?.tokenCacheLookups.series({ result: 'hit' });
  const cacheMiss = metrics?.tokenCacheLookups.series({ result: 'miss' });
  const valid = metrics?.tokenVerification.series({ result: 'valid' });
  const rejected = metrics?.tokenVerification.series({ result: 'invalid' });

  /** A signature and claims check (a token not seen before), timed and traced. */
  function verify(ctx: RequestContext, token: string): Promise<Identity> {
    const started = performance.now();
    const timed = () =>
      verifier.verify(token).then(
        (identity) => {
          valid?.observe((performance.now() - started) / 1000);
          return identity;
        },
        (err: unknown) => {
          rejected?.observe((performance.now() - started) / 1000);
          throw err;
        },
      );
    return tracing === undefined ? timed() : tracing.wrap(ctx, 'gateway.verify_token', {}, timed);
  }

  function invalid(ctx: RequestContext, reason: string): never {
    ctx.failure = reason;
    onFailure?.(reason);
    throw invalidTokenError();
  }

  function failed(ctx: RequestContext, err: unknown): never {
    if (err instanceof TokenRejected) invalid(ctx, err.reason);
    if ((err as { code?: unknown }).code === 'KEYS_UNAVAILABLE') {
      ctx.failure = 'keys_unavailable';
      throw gatewayError('GW_AUTH_UNAVAILABLE', 'Tokens cannot be checked right now.', {
        headers: { 'retry-after': '5' },
      });
    }
    throw err;
  }

  return function authenticate(ctx: RequestContext): Promise<void> | undefined {
    if (ctx.isPublic) return undefined;
    if (ctx.authorizationCount === 0) {
      ctx.failure = 'missing';
      onFailure?.('missing');
      throw gatewayError('GW_UNAUTHENTICATED', 'This route needs an access token.', {
        headers: { 'www-authenticate': BEARER_CHALLENGE },
      });
    }
    if (ctx.authorizationCount > 1 || ctx.authorization === undefined) invalid(ctx, 'duplicate_header');
    const match = BEARER.exec(ctx.authorization as string);
    if (match === null) invalid(ctx, 'not_bearer');
    const token = (match as RegExpExecArray)[1] as string;
    // A token verified before (the common case: clients reuse theirs) needs no promise.
    const known = verifier.cached(token);
    if (known !== undefined) {
      cacheHit?.inc();
      ctx.identity = known;
      return undefined;
    }
    cacheMiss?.inc();
    return verify(ctx, token).then(
      (identity) => {
        ctx.identity = identity;
      },
      (err: unknown) => failed(ctx, err),
    );
  };
}
