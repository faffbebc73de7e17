import type { ServiceCallSigner } from '@gatehouse/kit';
import type { Layer } from './internal-client.ts';

/** Signs every call as the platform service `gateway` (method, path and request id are covered). */
export function signedCall(sign: ServiceCallSigner): Layer {
  return (next) =>
    function signed(req, interpret) {
      return next(
        { ...req, headers: { ...req.headers, ...sign(req.method, req.path, req.requestId || undefined) } },
        interpret,
      );
    };
}
