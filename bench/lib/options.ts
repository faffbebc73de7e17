/**
 * Bench settings, all from the environment so that `npm run bench` needs no
 * arguments. Defaults keep one full run under about four minutes on the
 * 2-core machine: 6 measurements × (3 s warm-up + 3 rounds × 8 s).
 */
export type Alg = 'EdDSA' | 'HS256';

export const CONTENDERS = [
  'direct',
  'gateway-reused',
  'gateway-fresh',
  'gateway-full',
  'gateway-nolog',
  'gateway-bare',
  'gateway-traced',
  'fast-gateway',
  'nginx',
] as const;
export type ContenderId = (typeof CONTENDERS)[number];

export interface BenchOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly pipelining: number;
  readonly alg: Alg;
  readonly pin: boolean;
  readonly only: readonly ContenderId[];
  readonly tokenPool: number;
  readonly writeDocs: boolean;
  /** Before each measurement, wait up to quietWaitSeconds for the machine to be below quietPct of a core. */
  readonly quietPct: number;
  readonly quietWaitSeconds: number;
  /** Total extra time allowed for quiet waits and re-measured disturbed rounds. */
  readonly extraSeconds: number;
  /** LOG_LEVEL of both gateway processes (foundation and full pipeline); the access log is on in both. */
  readonly gatewayLogLevel: string;
}

function int(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function flag(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(raw.toLowerCase());
}

function alg(): Alg {
  const raw = process.env.BENCH_ALG ?? 'EdDSA';
  if (raw === 'EdDSA' || raw === 'HS256') return raw;
  throw new Error(`BENCH_ALG must be EdDSA or HS256, got "${raw}"`);
}

/** As in production: info, so every request writes its access-log line (to the gateway's log file). */
function logLevel(): string {
  const raw = process.env.BENCH_LOG_LEVEL ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (levels.includes(raw)) return raw;
  throw new Error(`BENCH_LOG_LEVEL must be one of ${levels.join(', ')}, got "${raw}"`);
}

function only(): ContenderId[] {
  const raw = process.env.BENCH_ONLY;
  if (raw === undefined || raw.trim() === '') return [...CONTENDERS];
  const ids = raw.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!(CONTENDERS as readonly string[]).includes(id)) {
      throw new Error(`BENCH_ONLY: unknown contender "${id}" (known: ${CONTENDERS.join(', ')})`);
    }
  }
  // direct is the ceiling every ratio is taken against: always measured.
  return CONTENDERS.filter((id) => id === 'direct' || ids.includes(id));
}

export function readOptions(): BenchOptions {
  const seconds = int('BENCH_SECONDS', 8, 1, 600);
  const rounds = int('BENCH_ROUNDS', 3, 1, 50);
  const selected = only();
  return {
    rounds,
    seconds,
    warmupSeconds: int('BENCH_WARMUP_SECONDS', 3, 0, 120),
    connections: int('BENCH_CONNECTIONS', 50, 1, 10_000),
    pipelining: int('BENCH_PIPELINING', 1, 1, 100),
    alg: alg(),
    pin: flag('BENCH_PIN', true),
    only: selected,
    tokenPool: int('BENCH_TOKEN_POOL', 150_000, 1_000, 2_000_000),
    // Only a full run replaces the figures in docs/benchmarks.md.
    writeDocs: flag('BENCH_DOCS', selected.length === CONTENDERS.length),
    quietPct: int('BENCH_QUIET_PCT', 15, 1, 200),
    quietWaitSeconds: int('BENCH_QUIET_WAIT_SECONDS', 10, 0, 600),
    extraSeconds: int('BENCH_EXTRA_SECONDS', 60, 0, 3_600),
    gatewayLogLevel: logLevel(),
  };
}

/** Seconds the measurements take, start-up and token signing excluded. */
export function plannedSeconds(o: BenchOptions): number {
  return o.only.length * (o.warmupSeconds + o.rounds * o.seconds);
}
