export { createServiceApp, type ServiceAppOptions } from './app.ts';
export {
  type BaseServiceConfig,
  baseServiceConfig,
  checkServiceEnv,
  envFlag,
  pickServiceEnv,
  REPO_ROOT,
  SHARED_SERVICE_VARIABLES,
  serviceEnvShape,
  splitList,
} from './config.ts';
export { type StandardCode, standardErrors } from './errors.ts';
export { type IdentityHook, requireIdentity, requirePlatformService } from './identity.ts';
export {
  type ServiceBaseConfig,
  type ServiceBuildOptions,
  type ServiceHandle,
  type ServiceHooks,
  type ServiceParts,
  type ServiceSpec,
  startService,
} from './lifecycle.ts';
export { type RunServiceOptions, runService } from './main.ts';
export { type OpenApiOptions, registerOpenApi } from './openapi.ts';
export { isSaneRequestId, REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
