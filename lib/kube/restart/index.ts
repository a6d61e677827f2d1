/** The restart engine's public surface; the pipeline and the CLI import from here only. */
export { RELOADER, type ResourceType, ROTOR, TYPED } from './annotations.js';
export { ConsumerIndex, type WorkloadRef } from './consumer-index.js';
export { RestartEngine, type RestartEngineDeps, type RestartExpectation, type RestartLog } from './engine.js';
export { convertToEnvVarName, envVarName } from './env-var-name.js';
export { type HashInput, reloaderHash, type SecretData } from './hash.js';
export { hashManifestFile, hashManifestText, type ManifestHash } from './hash-manifest.js';
export { WORKLOAD_KINDS } from './kinds/index.js';
export type { WorkloadKind, WorkloadKindName } from './kinds/types.js';
export { type RuleDecision, type RuleInput, shouldReload } from './rules.js';
