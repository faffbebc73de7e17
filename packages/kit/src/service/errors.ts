import type { ErrorSpec } from '../errors.ts';

/**
 * The codes the shared service plumbing answers with, under a package's
 * prefix (`AUTH_VALIDATION`, `CHAT_VALIDATION` …). Each package spreads them
 * into its own table, so its table still lists every code it can answer with.
 */
export function standardErrors<const P extends string>(prefix: P) {
  return {
    [`${prefix}_VALIDATION`]: { status: 400, title: 'The request is not valid' },
    [`${prefix}_MALFORMED_REQUEST`]: { status: 400, title: 'The request could not be read' },
    [`${prefix}_UNAUTHENTICATED`]: { status: 401, title: 'No valid gateway assertion' },
    [`${prefix}_FORBIDDEN`]: { status: 403, title: 'Not allowed' },
    [`${prefix}_NOT_FOUND`]: { status: 404, title: 'Not found' },
    [`${prefix}_METHOD_NOT_ALLOWED`]: { status: 405, title: 'Method not allowed' },
    [`${prefix}_BODY_TOO_LARGE`]: { status: 413, title: 'The request body is too large' },
    [`${prefix}_UNSUPPORTED_MEDIA_TYPE`]: { status: 415, title: 'Unsupported content type' },
    [`${prefix}_INTERNAL`]: { status: 500, title: 'Internal Server Error' },
  } as Record<`${P}_${StandardCode}`, ErrorSpec>;
}

export type StandardCode =
  | 'VALIDATION'
  | 'MALFORMED_REQUEST'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INTERNAL';
