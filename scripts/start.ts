import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm start`: the whole platform on one machine with nothing set up by hand.
 * Every service that exists runs as its own process with embedded defaults
 * (PGlite files and keys under .data/, in-process stores); the gateway runs
 * in front of them with config/gateway.yaml. Development secrets are made
 * once and kept in .data/dev-secrets.json (never used in production, where
 * each process refuses to start without its own).
 */

const root = join(import.meta.dirname, '..');
const dataDir = join(root, '.data');
mkdirSync(dataDir, { recursive: true, mode: 0o700 });

const secretsFile = join(dataDir, 'dev-secrets.json');
const secrets: Record<string, string> = existsSync(secretsFile)
  ? (JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>)
  : {};
for (const name of ['GATEWAY_ASSERTION_SECRET']) secrets[name] ??= randomBytes(32).toString('base64url');
writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });

/**
 * A service package declares how it runs on a laptop in its package.json:
 * `"gatehouse": { "service": { "prefix": "CHAT", "port": 4002, "devEnv": { … } } }`.
 * From the prefix this script derives what every service built on kit's
 * template reads (`<PREFIX>_PORT`, `<PREFIX>_DATA_DIR` under .data/,
 * `<PREFIX>_TRUSTED_PROXIES`: the gateway on this machine), so a new service
 * needs no line here. `devEnv` holds what is the service's own (e.g. auth's
 * issuer, which config/gateway.yaml expects).
 */
interface ServiceDeclaration {
  readonly prefix: string;
  readonly port: number;
  readonly devEnv?: Readonly<Record<string, string>>;
}

interface Service {
  readonly name: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

function declarationOf(name: string): ServiceDeclaration | undefined {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8')) as {
    gatehouse?: { service?: ServiceDeclaration };
  };
  return pkg.gatehouse?.service;
}

function envOf(name: string): Record<string, string> {
  const declared = declarationOf(name);
  if (declared === undefined) return {};
  const p = declared.prefix;
  return {
    [`${p}_PORT`]: String(declared.port),
    [`${p}_DATA_DIR`]: join(dataDir, name),
    [`${p}_TRUSTED_PROXIES`]: '127.0.0.1/32',
    ...declared.devEnv,
  };
}

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  ...secrets,
};

// Every package with a src/main.ts is a process to run, except the gateway (started last, in front).
const services: Service[] = readdirSync(join(root, 'packages'))
  .filter((name) => name !== 'gateway' && existsSync(join(root, 'packages', name, 'src', 'main.ts')))
  .sort()
  .map((name) => ({ name, args: [join(root, 'packages', name, 'src', 'main.ts')], env: envOf(name) }));
services.push({
  name: 'gateway',
  args: [join(root, 'packages/gateway/src/main.ts'), 'serve', '--config', join(root, 'config/gateway.yaml')],
  env: {},
});

const children = new Map<string, ChildProcess>();
let stopping = false;

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  for (const child of children.values()) child.kill('SIGTERM');
}

for (const service of services) {
  const child = spawn(process.execPath, service.args, {
    cwd: root,
    env: { ...env, ...service.env },
    stdio: 'inherit',
  });
  children.set(service.name, child);
  child.on('exit', (code, signal) => {
    children.delete(service.name);
    if (!stopping) {
      process.stderr.write(`start: ${service.name} exited (${signal ?? code}); stopping the others\n`);
      stopAll(1);
    }
    if (children.size === 0) process.exit(process.exitCode ?? 0);
  });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopAll(0));

// The listeners of config/gateway.yaml.
const gatewayUrl = 'http://127.0.0.1:8080';
const adminUrl = 'http://127.0.0.1:9080';
// A first start builds the web app and creates every database, which takes longer on a busy
// machine: say so after 30 s, and keep waiting (up to 5 minutes) to announce when it is up.
const started = Date.now();
let warned = false;
while (!stopping && Date.now() - started < 300_000) {
  const ready = await fetch(`${gatewayUrl}/ready`).then(
    (r) => r.status === 200,
    () => false,
  );
  if (ready) {
    process.stderr.write(
      `\nGatehouse is up: ${gatewayUrl} (admin ${adminUrl}) — ` +
        `running: ${services.map((s) => s.name).join(', ')}. Ctrl-C stops everything.\n\n`,
    );
    break;
  }
  if (!warned && Date.now() - started > 30_000) {
    warned = true;
    process.stderr.write(
      `\nstart: the gateway is not ready after 30 s (still waiting); its dependencies are listed at ${adminUrl}/ready\n`,
    );
  }
  await new Promise((r) => setTimeout(r, 250));
}
