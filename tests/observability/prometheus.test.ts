import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { freePort } from '../../scripts/backends.ts';
import { startGateway, token, upstream } from '../gateway/process.ts';

/**
 * The monitoring that ships in deploy/: the alert rules (promtool's checks and
 * unit tests), the Prometheus config, the runbook of every alert, and the
 * dashboard, checked against a real gateway's /metrics and a real Prometheus
 * scraping it. Needs promtool and prometheus (Debian package `prometheus`,
 * which CI installs: .ci/run); without them those tests say SKIPPED.
 */

const root = join(import.meta.dirname, '..', '..');
const ALERTS = join(root, 'deploy/prometheus/alerts.yml');
const ALERT_TESTS = join(root, 'deploy/prometheus/alerts.test.yml');
const PROMETHEUS_CONFIG = join(root, 'deploy/prometheus/prometheus.yml');
const DASHBOARD = join(root, 'deploy/grafana/dashboards/gatehouse.json');
const RUNBOOKS = join(root, 'docs/runbooks.md');
const WAIT_MS = 20_000;
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const DATASOURCE_VARIABLE = '${datasource}';

function findBinary(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const PROMTOOL = findBinary('promtool');
const PROMETHEUS = findBinary('prometheus');
const missing = (binary: string) =>
  `SKIPPED: ${binary} is not installed (Debian package prometheus: apt-get install -y prometheus)`;
const NO_PROMTOOL = PROMTOOL === undefined ? missing('promtool') : false;
const NO_PROMETHEUS = PROMETHEUS === undefined ? missing('prometheus') : false;
for (const reason of [NO_PROMTOOL, NO_PROMETHEUS]) {
  if (reason === false) continue;
  const line = `! ${reason} !`;
  process.stderr.write(`\n${'!'.repeat(line.length)}\n${line}\n${'!'.repeat(line.length)}\n\n`);
}

/** Series Prometheus makes itself, not exported by any process. */
const PROMETHEUS_BUILTINS = new Set(['up']);

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(): { groups: { name: string; rules: AlertRule[] }[]; rules: AlertRule[] } {
  const doc = parse(readFileSync(ALERTS, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  return { groups: doc.groups, rules: doc.groups.flatMap((g) => g.rules) };
}

interface Panel {
  type: string;
  id: number;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}

function dashboard(): {
  uid: string;
  schemaVersion: number;
  version: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
} {
  return JSON.parse(readFileSync(DASHBOARD, 'utf8'));
}

function dashboardExprs(): { panel: string; expr: string }[] {
  return dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/**
 * The metric names a PromQL expression reads: identifiers that are not a
 * function or aggregation (followed by "("), a keyword, or inside label
 * matchers, ranges, strings or by/without/on/ignoring lists.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'inf', 'nan']);
  const names = [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !keywords.has((m[1] as string).toLowerCase()))
    .map((m) => m[1] as string);
  return [...new Set(names)];
}

/** The metric families a /metrics text declares (`# TYPE name type`). */
function declaredTypes(metricsText: string): Map<string, string> {
  return new Map(
    [...metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
}

function isExported(name: string, types: Map<string, string>): boolean {
  if (PROMETHEUS_BUILTINS.has(name) || types.has(name)) return true;
  const series = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (series === null) return false;
  const type = types.get(series[1] as string);
  return type === 'histogram' || (type === 'summary' && series[2] !== 'bucket');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function promtool(args: string[], input?: string) {
  const result = spawnSync(PROMTOOL as string, args, {
    cwd: root,
    encoding: 'utf8',
    input,
    timeout: WAIT_MS,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, detail: () => string): Promise<T> {
  const end = Date.now() + WAIT_MS;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(
    `timed out after ${WAIT_MS} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}\n${detail()}`,
  );
}

describe('alert rules and Prometheus config (promtool)', { skip: NO_PROMTOOL }, () => {
  it('alerts.yml passes promtool check rules and its unit tests in alerts.test.yml', () => {
    const check = promtool(['check', 'rules', ALERTS]);
    assert.equal(check.status, 0, `promtool check rules failed:\n${check.output}`);
    assert.match(check.output, /SUCCESS: \d+ rules found/, check.output);
    const unit = promtool(['test', 'rules', ALERT_TESTS]);
    assert.equal(unit.status, 0, `promtool test rules failed:\n${unit.output}`);
  });

  it('unit-tests every alert both firing and not firing', () => {
    const tests = parse(readFileSync(ALERT_TESTS, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alertRules().rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert}: no case in alerts.test.yml where it fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert}: no case in alerts.test.yml where it does not fire`,
      );
    }
  });

  it('prometheus.yml passes promtool check config', () => {
    const check = promtool(['check', 'config', PROMETHEUS_CONFIG]);
    assert.equal(check.status, 0, `promtool check config failed:\n${check.output}`);
    assert.match(check.output, /SUCCESS: 1 rule files found/, check.output);
  });
});

describe('runbooks', () => {
  it('have an entry for every alert, and every runbook_url points at a heading of docs/runbooks.md', () => {
    const headings = [...readFileSync(RUNBOOKS, 'utf8').matchAll(/^#{1,6}\s+(.+?)\s*$/gm)].map(
      (m) => m[1] as string,
    );
    const anchors = new Set(headings.map(anchor));
    const { rules } = alertRules();
    assert.ok(rules.length >= 11, `only ${rules.length} alerts in alerts.yml`);
    for (const rule of rules) {
      assert.ok(headings.includes(rule.alert), `docs/runbooks.md has no heading "${rule.alert}"`);
      assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/, `${rule.alert}: labels.severity`);
      assert.ok((rule.annotations?.summary ?? '') !== '', `${rule.alert}: annotations.summary`);
      assert.ok((rule.annotations?.description ?? '') !== '', `${rule.alert}: annotations.description`);
      const url = new URL(rule.annotations?.runbook_url ?? '', 'https://invalid/');
      assert.match(url.pathname, /\/docs\/runbooks\.md$/, `${rule.alert}: runbook_url ${url}`);
      const fragment = url.hash.slice(1);
      assert.ok(anchors.has(fragment), `${rule.alert}: #${fragment} is not a heading of docs/runbooks.md`);
      assert.equal(fragment, anchor(rule.alert), `${rule.alert}: runbook_url points at another entry`);
    }
    const names = new Set(rules.map((r) => r.alert));
    const stale = headings.filter((h) => /^Gatehouse[A-Z]\w+$/.test(h) && !names.has(h));
    assert.deepEqual(stale, [], 'runbook entries for alerts that do not exist');
  });
});

describe('dashboard', () => {
  it('is provisionable: uid, version, the datasource/job/instance variables, the five rows, every query on the datasource variable', () => {
    const d = dashboard();
    assert.equal(d.uid, 'gatehouse-overview');
    assert.ok(d.schemaVersion >= 36 && Number.isInteger(d.version), 'schemaVersion and version');
    const variables = new Map(d.templating.list.map((v) => [v.name, v]));
    assert.deepEqual(
      { type: variables.get('datasource')?.type, query: variables.get('datasource')?.query },
      { type: 'datasource', query: 'prometheus' },
    );
    assert.equal(variables.get('job')?.type, 'query');
    assert.equal(variables.get('instance')?.type, 'query');
    assert.deepEqual(
      d.panels.filter((p) => p.type === 'row').map((p) => p.title),
      ['Overview', 'Upstream health', 'Security', 'Resources', 'WebSockets'],
    );
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of d.panels.filter((p) => p.type !== 'row')) {
      assert.ok((panel.targets ?? []).length > 0, `${panel.title}: no query`);
      assert.equal(panel.datasource?.uid, DATASOURCE_VARIABLE, `${panel.title}: datasource`);
      for (const target of panel.targets ?? []) {
        assert.equal(target.datasource?.uid, DATASOURCE_VARIABLE, `${panel.title}: target datasource`);
        assert.match(target.expr, /job=~"\$job", instance=~"\$instance"/, `${panel.title}: ${target.expr}`);
      }
    }
  });
});

describe('a running gateway', () => {
  it('serves metrics promtool accepts, with every metric the alerts and dashboard use, scraped by Prometheus', async (t) => {
    const up = await upstream();
    const gw = await startGateway('observability', up.url);
    const authorization = `Bearer ${await token('observer')}`;
    const proxied = await fetch(`${gw.url}/api/hello`, { headers: { authorization } });
    assert.equal(proxied.status, 200, await proxied.text());
    const unknown = await fetch(`${gw.url}/nope`);
    assert.equal(unknown.status, 404, await unknown.text());
    const refused = await fetch(`${gw.url}/api/hello`);
    assert.equal(refused.status, 401, await refused.text());
    const metricsText = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    for (const series of [
      /^gateway_http_requests_total\{method="GET",route="\/api",status="200"\} 1$/m,
      /^gateway_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m,
      /^gateway_http_requests_total\{method="GET",route="\/api",status="401"\} 1$/m,
    ]) {
      assert.match(metricsText, series);
    }

    await t.test('/metrics passes promtool check metrics', { skip: NO_PROMTOOL }, () => {
      const check = promtool(['check', 'metrics'], metricsText);
      assert.equal(check.status, 0, `promtool check metrics (exit ${check.status}):\n${check.output}`);
      assert.equal(check.output.trim(), '', 'no lint finding');
    });

    await t.test(
      'every metric in alerts.yml and the dashboard is exported (or is a Prometheus built-in)',
      () => {
        assert.deepEqual(
          metricNames(
            'sum by (le) (rate(a_bucket{x="y(z)"}[5m])) / on (i) b > 0.5 and histogram_quantile(0.9, c) or 1 - d',
          ),
          ['a_bucket', 'b', 'c', 'd'],
          'metricNames itself',
        );
        const types = declaredTypes(metricsText);
        assert.ok(types.size > 20, 'the /metrics text declares its metric families');
        const used = [
          ...alertRules().rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
          ...dashboardExprs().map((e) => ({ where: `panel "${e.panel}"`, expr: e.expr })),
        ];
        const names = new Set(used.flatMap((u) => metricNames(u.expr)));
        assert.ok(names.has('gateway_http_requests_total') && names.size > 20, [...names].join(', '));
        const unknownNames = used.flatMap((u) =>
          metricNames(u.expr)
            .filter((name) => !isExported(name, types))
            .map((name) => `${name} (${u.where})`),
        );
        assert.deepEqual(unknownNames, [], 'metrics the running gateway does not export');
      },
    );

    await t.test(
      'a real Prometheus scrapes it with the alert rules loaded',
      { skip: NO_PROMETHEUS },
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'gatehouse-prometheus-'));
        const port = await freePort();
        const admin = new URL(gw.adminUrl);
        copyFileSync(ALERTS, join(dir, 'alerts.yml'));
        writeFileSync(
          join(dir, 'prometheus.yml'),
          `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [alerts.yml]
scrape_configs:
  - job_name: gatehouse-gateway
    static_configs: [{ targets: ["${admin.host}"] }]
`,
        );
        let log = '';
        const child: ChildProcess = spawn(
          PROMETHEUS as string,
          [
            `--config.file=${join(dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${join(dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${port}`,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout?.on('data', (c) => {
          log += c;
        });
        child.stderr?.on('data', (c) => {
          log += c;
        });
        after(async () => {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL');
            await once(child, 'exit');
          }
          rmSync(dir, { recursive: true, force: true });
        });
        const api = `http://127.0.0.1:${port}`;
        const detail = () => `prometheus output:\n${log.slice(-3000)}`;
        const get = async (path: string) => {
          const res = await fetch(`${api}${path}`);
          const body = (await res.json()) as { status: string; data: unknown; error?: string };
          return body;
        };

        const target = await until(
          'the gateway target to be up',
          async () => {
            const { data } = (await get('/api/v1/targets')) as {
              data: {
                activeTargets: { scrapeUrl: string; health: string; labels: Record<string, string> }[];
              };
            };
            return data.activeTargets.find(
              (a) => a.scrapeUrl === `${gw.adminUrl}/metrics` && a.health === 'up',
            );
          },
          detail,
        );
        assert.equal(target.labels.job, 'gatehouse-gateway');

        const series = await until(
          'gateway_http_requests_total',
          async () => {
            const { data } = (await get('/api/v1/query?query=gateway_http_requests_total')) as {
              data: { result: { metric: Record<string, string> }[] };
            };
            return data.result.length >= 3 ? data.result.map((r) => r.metric) : undefined;
          },
          detail,
        );
        for (const [route, status] of [
          ['/api', '200'],
          ['unmatched', '404'],
          ['/api', '401'],
        ]) {
          assert.ok(
            series.some(
              (m) =>
                m.route === route &&
                m.status === status &&
                m.method === 'GET' &&
                m.job === 'gatehouse-gateway',
            ),
            `no gateway_http_requests_total{route="${route}",status="${status}"} in ${JSON.stringify(series)}`,
          );
        }

        // Every rule loaded, in its group, and evaluated without error against real data.
        const expected = alertRules()
          .groups.map((g) => `${g.name}: ${g.rules.map((r) => r.alert).join(', ')}`)
          .sort();
        const loaded = await until(
          'the alert rules to be loaded and evaluated',
          async () => {
            const { data } = (await get('/api/v1/rules')) as {
              data: {
                groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
              };
            };
            const rules = data.groups.flatMap((g) => g.rules);
            return rules.length > 0 && rules.every((r) => r.health !== 'unknown') ? data.groups : undefined;
          },
          detail,
        );
        assert.deepEqual(
          loaded.map((g) => `${g.name}: ${g.rules.map((r) => r.name).join(', ')}`).sort(),
          expected,
        );
        const broken = loaded
          .flatMap((g) => g.rules)
          .filter((r) => r.health !== 'ok')
          .map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`);
        assert.deepEqual(broken, [], 'rules that failed to evaluate');

        // Every dashboard query runs (the variables as Grafana would fill them in).
        const failed: string[] = [];
        for (const { panel, expr } of dashboardExprs()) {
          const query = expr
            .replaceAll('$__rate_interval', '1m')
            .replaceAll('$job', 'gatehouse-gateway')
            .replaceAll('$instance', '.*');
          const body = await get(`/api/v1/query?query=${encodeURIComponent(query)}`);
          if (body.status !== 'success') failed.push(`${panel}: ${body.error} in ${query}`);
        }
        assert.deepEqual(failed, [], 'dashboard queries Prometheus refuses');

        child.kill('SIGTERM');
        const [code] = (await once(child, 'exit')) as [number | null];
        assert.equal(code, 0, `prometheus did not stop cleanly\n${detail()}`);
      },
    );
  });
});
