import { type CompiledRoute, parseRule, type Rule } from '../routing/route-table.ts';
import { type AccessCheckConfig, ruleSegments } from './schema.ts';

/** One access check of a route, compiled once: the rule, and where its resource id sits. */
export interface AccessRule extends Rule {
  readonly resourceType: string;
  readonly param: string;
  /** Index in the request's route-relative segments (`ctx.segments`) of the resource id. */
  readonly paramIndex: number;
  /** Undefined: derived from the request's method (see actionFor). */
  readonly action: string | undefined;
  readonly checker: string;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The default action of a request: `read` for GET, HEAD and OPTIONS, `write` for the rest. */
export function actionFor(method: string): 'read' | 'write' {
  return READ_METHODS.has(method) ? 'read' : 'write';
}

export function compileAccessRule(check: AccessCheckConfig): AccessRule {
  const paramIndex = ruleSegments(check.rule).indexOf(`:${check.param}`);
  // The schema refuses such a config; a hand-built one must not compile into a rule that checks nothing.
  if (paramIndex === -1) throw new Error(`access rule "${check.rule}" has no :${check.param} segment`);
  return {
    ...parseRule(check.rule),
    resourceType: check.resource,
    param: check.param,
    paramIndex,
    action: check.action,
    checker: check.checker,
  };
}

/** The routes' access rules by route id (its prefix), built once from the config's routes. */
export class AccessRuleTable {
  readonly #byRoute = new Map<string, readonly AccessRule[]>();

  constructor(
    routes: readonly { readonly prefix: string; readonly access?: readonly AccessCheckConfig[] }[],
  ) {
    for (const route of routes) {
      const rules = (route.access ?? []).map(compileAccessRule);
      if (rules.length > 0) this.#byRoute.set(route.prefix, rules);
    }
  }

  /** The access rules of `route` (none for most routes). */
  for(route: CompiledRoute): readonly AccessRule[] {
    return this.#byRoute.get(route.id) ?? NONE;
  }

  /** Checker names the rules use (each must be declared). */
  checkers(): Set<string> {
    const names = new Set<string>();
    for (const rules of this.#byRoute.values()) for (const rule of rules) names.add(rule.checker);
    return names;
  }

  get size(): number {
    return this.#byRoute.size;
  }
}

const NONE: readonly AccessRule[] = Object.freeze([]);
