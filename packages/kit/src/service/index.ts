export * from '../openapi/document.ts';
export {
  bodyResponses,
  commonResponses,
  PROBLEM_REF,
  problemContent,
  problemSchema,
} from '../openapi/problem.ts';
export { type ApiDocumentsOptions, INTERNAL_DOCUMENT_PATH, registerApiDocuments } from './api-documents.ts';
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
export { isSaneRequestId, REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
export { isStorableText, refuseUnstorableText, unstorableFields } from './storable-text.ts';
