export { PavedClient } from './paved-client.js';
export type { EnvironmentTeardown } from './types.js';
export type { ListOptions, PavedClientOptions, RequestOptions } from './paved-client.js';
export {
  dataDirCredentialsPath,
  loginCredentialsPath,
  pickCredential,
  readCredentialFile,
  removeLoginCredential,
  resolveCredential,
  saveLoginCredential,
} from './credentials.js';
export type {
  Credential,
  CredentialFile,
  CredentialInputs,
  CredentialResolution,
  CredentialSource,
  ResolveCredentialOptions,
} from './credentials.js';
export { normaliseServerUrl, sameServerUrl } from './server-url.js';
export type * from './types.js';
export { DEFAULT_MAX_CONTEXT_BYTES, formatBytes, packContext } from './build-context.js';
export type { PackContextOptions, PackedContext } from './build-context.js';
export { SseParser } from './sse.js';
export type { SseMessage } from './sse.js';
