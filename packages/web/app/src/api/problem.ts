import { messageFor } from './messages.ts';

/** What the APIs answer on failure (RFC 9457), as far as the app reads it. */
export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly title?: string;
  readonly detail?: string;
  readonly requestId?: string;
  readonly errors?: readonly { field: string; message: string }[];
}

/** A failed API call, with the sentence a person can act on. */
export class ApiError extends Error {
  readonly problem: Problem;
  readonly retryAfterSeconds: number | undefined;

  constructor(problem: Problem, retryAfterSeconds?: number) {
    super(messageFor(problem.code, { status: problem.status, retryAfterSeconds, detail: problem.detail }));
    this.name = 'ApiError';
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get code(): string {
    return this.problem.code;
  }

  static async from(res: Response): Promise<ApiError> {
    const retry = Number(res.headers.get('retry-after'));
    const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined;
    let body: Partial<Problem> = {};
    try {
      body = (await res.json()) as Partial<Problem>;
    } catch {
      // Not a problem document (a proxy's HTML page, say): the status still says enough.
    }
    return new ApiError(
      {
        status: res.status,
        code: typeof body.code === 'string' ? body.code : `HTTP_${res.status}`,
        title: body.title,
        detail: body.detail,
        requestId: body.requestId ?? res.headers.get('x-request-id') ?? undefined,
        errors: body.errors,
      },
      retryAfter,
    );
  }

  /** The network failed (offline, connection refused): no answer at all. */
  static network(): ApiError {
    return new ApiError({ status: 0, code: 'NETWORK' });
  }
}
