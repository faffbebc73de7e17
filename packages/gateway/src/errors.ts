import { defineErrors } from '@gatehouse/kit';

/** Every code the gateway answers with. Each is documented in docs/errors.md (a test checks). */
export const gatewayErrors = defineErrors({
  GW_BAD_REQUEST: { status: 400, title: 'Bad Request' },
  GW_BAD_PATH: { status: 400, title: 'Bad Request Path' },
  GW_UPGRADE_REFUSED: { status: 400, title: 'Upgrade Refused' },
  GW_UNAUTHENTICATED: { status: 401, title: 'Authentication Required' },
  GW_INVALID_TOKEN: { status: 401, title: 'Invalid Access Token' },
  GW_INVALID_TICKET: { status: 401, title: 'Invalid Connection Ticket' },
  GW_FORBIDDEN: { status: 403, title: 'Forbidden' },
  GW_ACCESS_DENIED: { status: 403, title: 'Access Denied' },
  GW_CORS_REJECTED: { status: 403, title: 'Cross-Origin Request Refused' },
  GW_ROUTE_NOT_FOUND: { status: 404, title: 'Not Found' },
  GW_METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed' },
  GW_REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout' },
  GW_PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  GW_URI_TOO_LONG: { status: 414, title: 'URI Too Long' },
  GW_RATE_LIMITED: { status: 429, title: 'Too Many Requests' },
  GW_TOO_MANY_CONNECTIONS: { status: 429, title: 'Too Many Connections' },
  GW_HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large' },
  GW_INTERNAL: { status: 500, title: 'Internal Server Error' },
  GW_UPSTREAM_UNAVAILABLE: { status: 502, title: 'Bad Gateway' },
  GW_AUTH_UNAVAILABLE: { status: 503, title: 'Authentication Unavailable' },
  GW_SHUTTING_DOWN: { status: 503, title: 'Service Unavailable' },
  GW_IDENTITY_UNAVAILABLE: { status: 503, title: 'Identity Service Unavailable' },
  GW_UPSTREAM_CIRCUIT_OPEN: { status: 503, title: 'Upstream Circuit Open' },
  GW_UPSTREAM_BUSY: { status: 503, title: 'Upstream At Capacity' },
  GW_UPSTREAM_TIMEOUT: { status: 504, title: 'Gateway Timeout' },
});

export type GatewayErrorCode = keyof typeof gatewayErrors.table;
export const gatewayError = gatewayErrors.create;
