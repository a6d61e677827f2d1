export type { Backend, NewVersion, SecretSnapshot, SecretValue, SecretWithValue } from './backend.js';
export { type BackendDeps, type BackendFactory, BackendRegistry, createBackends } from './registry.js';
