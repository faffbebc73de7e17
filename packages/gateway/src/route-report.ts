import type { CompiledRoute, RouteTable } from './routing/route-table.ts';

/** One route as `check`, `/config` and docs/api-routes.md show it. */
export interface RouteReport {
  readonly prefix: string;
  readonly upstream: string;
  readonly upstreamUrl: string;
  readonly public: readonly string[];
  readonly roles: Readonly<Record<string, readonly string[]>>;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly stripPrefix: boolean;
  readonly description: string | undefined;
  /** WebSocket upgrades accepted: idle timeout and maximum lifetime; undefined when refused. */
  readonly websocket: { readonly idleTimeoutMs: number; readonly maxLifetimeMs: number } | undefined;
}

export function routeReport(table: RouteTable): RouteReport[] {
  return table.routes.map((route: CompiledRoute) => ({
    prefix: route.prefix,
    upstream: route.upstream.name,
    upstreamUrl: `${route.upstream.origin}${route.upstream.basePath}`,
    public: route.publicRules.map((r) => r.source),
    roles: Object.fromEntries(route.roleRules.map((r) => [r.source, r.roles])),
    timeoutMs: route.timeoutMs,
    maxBodyBytes: route.maxBodyBytes,
    stripPrefix: route.stripPrefix,
    description: route.description,
    websocket: route.websocket,
  }));
}

function policy(route: RouteReport): string {
  const parts = [route.public.length > 0 ? `public: ${route.public.join('; ')}` : 'all paths need a token'];
  const roleRules = Object.entries(route.roles).map(([rule, roles]) => `${rule} → ${roles.join('|')}`);
  if (roleRules.length > 0) parts.push(`roles: ${roleRules.join('; ')}`);
  if (route.websocket !== undefined) parts.push('websocket');
  return parts.join(' · ');
}

/** The route table as plain text, for the terminal. */
export function formatRouteTable(routes: readonly RouteReport[]): string {
  const rows = routes.map((r) => [
    r.prefix,
    `${r.upstream} (${r.upstreamUrl})`,
    `${r.timeoutMs / 1000}s`,
    policy(r),
  ]);
  const header = ['PREFIX', 'UPSTREAM', 'TIMEOUT', 'POLICY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The route table as a markdown section, for docs/api-routes.md. */
export function markdownRouteTable(title: string, source: string, routes: readonly RouteReport[]): string {
  const escapePipes = (s: string) => s.replaceAll('|', '\\|');
  const lines = [
    `## ${title}`,
    '',
    `From \`${source}\`.`,
    '',
    '| Prefix | Upstream | Timeout | Public (no token) | Role rules |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const r of routes) {
    const roles = Object.entries(r.roles).map(([rule, rs]) => `\`${rule}\` → ${rs.join(', ')}`);
    const ws = r.websocket === undefined ? '' : ' (WebSocket)';
    lines.push(
      `| \`${r.prefix}\`${ws} | ${r.upstream} | ${r.timeoutMs / 1000} s | ${
        r.public.length > 0 ? r.public.map((p) => `\`${escapePipes(p)}\``).join('<br>') : '—'
      } | ${roles.length > 0 ? roles.join('<br>') : '—'} |`,
    );
  }
  return lines.join('\n');
}
