import type { Config } from '../config.js';
import { describeError, NotFoundError } from '../errors.js';
import { assertSafeRef } from '../safe-names.js';
import { refKey, type SecretRef } from '../secret-ref.js';
import type { Backend } from './backend.js';
import type { BackendDeps, BackendFactory } from './factory.js';
import { keyVaultFactory } from './keyvault/index.js';
import { vaultFactory } from './vault/index.js';

export type { BackendDeps, BackendFactory } from './factory.js';

/** Adding a backend kind = adding a folder and one line here. */
export const BACKEND_FACTORIES: readonly BackendFactory[] = [keyVaultFactory, vaultFactory];

export interface BackendHealth {
  kind: SecretRef['backend'];
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export class BackendRegistry {
  constructor(private readonly backends: readonly Backend[]) {}

  /**
   * The configured store that holds `ref`; NotFoundError names the store that is missing from
   * config. Every backend call goes through here, so an unsafe name or path never reaches one.
   */
  get(ref: SecretRef): Backend {
    assertSafeRef(ref);
    const backend = this.find(ref);
    if (!backend) {
      throw new NotFoundError(
        `${refKey(ref)}: no configured ${ref.backend} store matches; add it to the rotor configuration`,
      );
    }
    return backend;
  }

  find(ref: SecretRef): Backend | undefined {
    return this.backends.find((b) => b.kind === ref.backend && b.owns(ref));
  }

  all(): readonly Backend[] {
    return this.backends;
  }

  async health(): Promise<BackendHealth[]> {
    return Promise.all(
      this.backends.map(async (b) => {
        const start = performance.now();
        try {
          await b.health();
          return { kind: b.kind, name: b.name, ok: true, ms: performance.now() - start };
        } catch (error) {
          return {
            kind: b.kind,
            name: b.name,
            ok: false,
            ms: performance.now() - start,
            error: describeError(error).message,
          };
        }
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.backends.map((b) => b.close()));
  }
}

/** Builds every configured store's backend; no client is created and nothing is contacted yet. */
export function createBackends(config: Config, deps: BackendDeps = {}): BackendRegistry {
  const factories = deps.factories ?? BACKEND_FACTORIES;
  return new BackendRegistry(factories.flatMap((f) => f.create(config, deps)));
}
