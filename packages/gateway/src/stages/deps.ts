import type { AssertionSigner, Logger } from '@gatehouse/kit';
import type { AccessChecks } from '../access/access-checks.ts';
import type { AccessRuleTable } from '../access/rules.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { UserDirectory } from '../identity/user-directory.ts';
import type { TokenVerifier } from '../identity/verifier.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { RateLimiting } from '../ratelimit/index.ts';
import type { RevocationList } from '../revocation/list.ts';
import type { ClientAddressResolver } from '../routing/client-address.ts';
import type { RouteTable } from '../routing/route-table.ts';
import type { RequestTracing } from '../tracing.ts';
import type { Upstreams } from '../upstream/upstreams.ts';
import type { Tickets } from '../websocket/tickets.ts';
import type { TunnelRegistry } from '../websocket/tunnels.ts';

/** What the stages are built from; assembled once by app.ts. */
export interface StageDeps {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly routes: RouteTable;
  readonly verifier: TokenVerifier;
  readonly clientAddress: ClientAddressResolver;
  readonly sign: AssertionSigner;
  readonly upstreams: Upstreams;
  readonly metrics: GatewayMetrics;
  readonly rateLimiting: RateLimiting;
  readonly revocations: RevocationList;
  readonly access: AccessChecks;
  readonly accessRules: AccessRuleTable;
  /** Present when the identity service is configured with user lookups on. */
  readonly users: UserDirectory | undefined;
  /** Present when spans are exported (OTLP endpoint set). */
  readonly tracing?: RequestTracing | undefined;
  readonly onFailure?: (reason: string) => void;
  readonly tickets: Tickets;
  readonly tunnels: TunnelRegistry;
}
