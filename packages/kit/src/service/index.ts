export { createServiceApp, type ServiceAppOptions } from './app.ts';
export { type StandardCode, standardErrors } from './errors.ts';
export { type IdentityHook, requireIdentity, requirePlatformService } from './identity.ts';
export { isSaneRequestId, REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
