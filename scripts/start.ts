import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: process.env.NODE_ENV ?? 'development',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  // The issuer and audience config/gateway.yaml expects of the identity service's tokens.
  AUTH_ISSUER: 'https://auth.gatehouse.local',
  AUTH_AUDIENCE: 'gatehouse',
  AUTH_DATA_DIR: join(dataDir, 'auth'),
  // The gateway in front (on this machine) tells the identity service the client's address.
  AUTH_TRUSTED_PROXIES: '127.0.0.1/32',
  // The web app's origin for the cookie endpoints' CSRF check; plain http on a laptop, so the
  // refresh cookie cannot be Secure here (refused with NODE_ENV=production).
  AUTH_ALLOWED_ORIGINS: 'http://127.0.0.1:8080,http://localhost:8080',
  AUTH_COOKIE_INSECURE_DEV: 'true',
  ...secrets,
};

interface Service {
  readonly name: string;
  readonly args: string[];
}

const services: Service[] = ['auth', 'chat', 'billing', 'web']
  .filter((name) => existsSync(join(root, 'packages', name, 'src', 'main.ts')))
  .map((name) => ({ name, args: [join(root, 'packages', name, 'src', 'main.ts')] }));
services.push({
  name: 'gateway',
  args: [join(root, 'packages/gateway/src/main.ts'), 'serve', '--config', join(root, 'config/gateway.yaml')],
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
  const child = spawn(process.execPath, service.args, { cwd: root, env, stdio: 'inherit' });
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
const deadline = Date.now() + 30_000;
while (!stopping && Date.now() < deadline) {
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
  await new Promise((r) => setTimeout(r, 250));
}
if (!stopping && Date.now() >= deadline) {
  process.stderr.write(
    `\nstart: the gateway is not ready after 30 s; its dependencies are listed at ${adminUrl}/ready\n`,
  );
}
