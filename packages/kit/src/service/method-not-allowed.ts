import FindMyWay from 'find-my-way';

/**
 * Which methods a path has, matched the way Fastify matches routes (the same
 * router library), so that a wrong method on a known path can be answered
 * 405 with `Allow` instead of 404: the route exists, the method does not.
 */
export interface MethodIndex {
  add(method: string | readonly string[], url: string): void;
  /**
   * The methods `path` has (sorted), none when no route matches it at all. A
   * path a static route names is that route's resource alone: a parametric
   * route of another method (`GET /conversations/:id`) does not make
   * `GET /conversations/direct` a method of it.
   */
  allowed(path: string): string[];
  /** The methods of the static route at exactly `path`, undefined when there is none. */
  staticMethods(path: string): readonly string[] | undefined;
}

const noop = () => {};

export function createMethodIndex(): MethodIndex {
  const router = FindMyWay();
  const methods = new Set<string>();
  const statics = new Map<string, string[]>();
  return {
    add(method, url) {
      for (const m of typeof method === 'string' ? [method] : method) {
        methods.add(m);
        if (!/[:*]/.test(url)) {
          const own = statics.get(url) ?? [];
          if (!own.includes(m)) statics.set(url, [...own, m].sort());
        }
        // The same method and path twice (routes told apart by constraints) is one entry here.
        if (!router.hasRoute(m as FindMyWay.HTTPMethod, url)) router.on(m as FindMyWay.HTTPMethod, url, noop);
      }
    },
    allowed(path) {
      const own = statics.get(path);
      if (own !== undefined) return [...own];
      return [...methods].filter((m) => router.find(m as FindMyWay.HTTPMethod, path) !== null).sort();
    },
    staticMethods(path) {
      return statics.get(path);
    },
  };
}
