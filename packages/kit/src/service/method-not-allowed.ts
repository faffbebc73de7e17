import FindMyWay from 'find-my-way';

/**
 * Which methods a path has, matched the way Fastify matches routes (the same
 * router library), so that a wrong method on a known path can be answered
 * 405 with `Allow` instead of 404: the route exists, the method does not.
 */
export interface MethodIndex {
  add(method: string | readonly string[], url: string): void;
  /** The methods `path` has (sorted), none when no route matches it at all. */
  allowed(path: string): string[];
}

const noop = () => {};

export function createMethodIndex(): MethodIndex {
  const router = FindMyWay();
  const methods = new Set<string>();
  return {
    add(method, url) {
      for (const m of typeof method === 'string' ? [method] : method) {
        methods.add(m);
        // The same method and path twice (routes told apart by constraints) is one entry here.
        if (!router.hasRoute(m as FindMyWay.HTTPMethod, url)) router.on(m as FindMyWay.HTTPMethod, url, noop);
      }
    },
    allowed(path) {
      return [...methods].filter((m) => router.find(m as FindMyWay.HTTPMethod, path) !== null).sort();
    },
  };
}
