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
export { type StandardCode, standardErrors } from './errors.ts';
export { type IdentityHook, requireIdentity, requirePlatformService } from './identity.ts';
export { isSaneRequestId, REQUEST_ID_HEADER, requestIdFor } from './request-id.ts';
export { isStorableText, refuseUnstorableText, unstorableFields } from './storable-text.ts';
