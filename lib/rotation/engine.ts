import type { Backend, SecretSnapshot, SecretValue, SecretWithValue } from '../backends/backend.js';
import { identityOf } from '../backends/identities.js';
import type { BackendRegistry } from '../backends/registry.js';
import { type Clock, systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { ConflictError, describeError, RotorError, ValidationError } from '../errors.js';
import { refKey, type SecretRef } from '../secret-ref.js';
import { type LeaseStore, MemoryLeaseStore } from '../state/lease.js';
import { type DueReason, dueReason } from './due.js';
import { isRotationTrigger, type RotateOptions, type RotationResult, rotationGate, skipped } from './gate.js';
import { generateBytes, type RandomBytes } from './generators/bytes.js';
import { generatePassword, type RandomInt } from './generators/password.js';
import { PostgresProvider } from './generators/postgres.js';
import type { CredentialProvider, IssuedCredential, ProviderContext } from './generators/provider.js';
import { type PolicyResult, parsePolicy, type RotationPolicy, TAGS } from './policy.js';
import { contentTypeOf, nextValue } from './value.js';

export type { RotateOptions, RotationResult, SkipReason } from './gate.js';

const DAY_MS = 86_400_000;
/** Tolerates clocks behind rotor's: a version must never be "not yet valid" when consumers read it. */
const NOT_BEFORE_SKEW_MS = 60_000;

export interface DueSecret {
  ref: SecretRef;
  /** Absent where a store's list does not give versions (Key Vault). */
  version?: string;
  reason: DueReason;
}

export interface RotationEngineOptions {
  backends: BackendRegistry;
  config: Config;
  clock?: Clock;
  /** Cross-instance exclusion (TableLeaseStore). Default: within this process only. */
  leases?: LeaseStore;
  /** Credential providers by kind. Default: PostgreSQL with config.rotation.postgres. */
  providers?: readonly CredentialProvider[];
  random?: { randomInt?: RandomInt; randomBytes?: RandomBytes };
  leaseTtlMs?: number;
  /** Secret rotation problems that are not the caller's request failing (invalid policies, unreachable stores while scanning). */
  onWarning?: (message: string, attributes: Record<string, string>) => void;
}

/**
 * Writes new secret versions, for both backends, from the policy on the secret.
 *
 * Safety, in order: a policy must exist; the version the caller saw must still be current;
 * the rotation must be due (unless asked for by hand); one instance at a time holds the
 * secret's lease; the version is re-read under the lease; the write is conditional on that
 * version (KV v2 cas; Key Vault compare-then-write, made safe by the lease). A conflict is
 * resolved by re-reading: someone else's version stands and nothing is written twice.
 *
 * Credential providers (a database role): the order is "provider first, store second".
 * - Dual role: set the password of the INACTIVE role, then write the secret pointing at
 *   it. Consumers hold the active role's credential, which is untouched; when the write
 *   fails, the inactive role's new password is simply unused. No window at all.
 * - Single role: change the role's password, then write the secret. Between the two
 *   (milliseconds) new logins with the stored password fail; open connections keep
 *   working (PostgreSQL checks passwords at login only). The reverse order would publish a
 *   secret that does not work yet, and Event Grid / the audit feed would push that
 *   non-working version to every consumer at once. If the write fails, the role's password
 *   is restored from the stored value, so store and database never disagree for long.
 *   A single role cannot avoid the window; use dual mode for zero-downtime rotation.
 * - Lost race (conflict): the provider is set to the winner's stored credential.
 */
export class RotationEngine {
  private readonly backends: BackendRegistry;
  private readonly config: Config;
  private readonly clock: Clock;
  private readonly leases: LeaseStore;
  private readonly providers: Map<string, CredentialProvider>;
  private readonly random: { randomInt?: RandomInt; randomBytes?: RandomBytes };
  private readonly leaseTtlMs: number;
  private readonly warn: (message: string, attributes: Record<string, string>) => void;

  constructor(options: RotationEngineOptions) {
    this.backends = options.backends;
    this.config = options.config;
    this.clock = options.clock ?? systemClock;
    this.leases = options.leases ?? new MemoryLeaseStore(this.clock);
    const providers = options.providers ?? [new PostgresProvider(options.config.rotation.postgres)];
    this.providers = new Map(providers.map((p) => [p.kind, p]));
    this.random = options.random ?? {};
    this.leaseTtlMs = options.leaseTtlMs ?? 60_000;
    this.warn = options.onWarning ?? (() => undefined);
  }

  async policyOf(ref: SecretRef): Promise<PolicyResult> {
    const snapshot = await this.backends.get(ref).readMetadata(ref);
    return parsePolicy(snapshot.metadata, this.config.rotation.defaultValidityDays);
  }

  async rotate(ref: SecretRef, options: RotateOptions): Promise<RotationResult> {
    if (!isRotationTrigger(options.reason))
      return skipped('not-a-rotation-trigger', `event kind ${options.reason}`);
    const backend = this.backends.get(ref);
    if (!backend.rotate)
      return skipped('rotation-disabled', `rotation is disabled for ${backend.kind} store ${backend.name}`);
    const before = await backend.readMetadata(ref);
    const gate = rotationGate(before, options, { now: this.clock.now(), rotation: this.config.rotation });
    if ('status' in gate) return gate;
    const lease = await this.leases.tryAcquire(refKey(ref), this.leaseTtlMs);
    if (!lease)
      return skipped(
        'in-progress-elsewhere',
        'another rotor instance holds the rotation lease',
        before.version,
      );
    try {
      const fresh = await backend.read(ref);
      if (fresh.version !== before.version)
        return skipped('superseded', 'a new version appeared meanwhile', fresh.version);
      return await this.writeNewVersion(backend, fresh, gate.policy);
    } finally {
      await lease
        .release()
        .catch((error) => this.warn('lease release failed', { ref: refKey(ref), ...errorAttrs(error) }));
    }
  }

  /** Every configured store, every secret (paged), whose policy says it is due now. */
  async scanDue(options: { pageSize?: number } = {}): Promise<DueSecret[]> {
    const now = this.clock.now();
    const due: DueSecret[] = [];
    for (const backend of this.backends.all()) {
      if (!backend.rotate) continue;
      try {
        for await (const page of backend.list(options)) {
          for (const snapshot of page) {
            const reason = this.dueFromList(snapshot, now);
            if (reason)
              due.push({
                ref: snapshot.ref,
                reason,
                ...(snapshot.version ? { version: snapshot.version } : {}),
              });
          }
        }
      } catch (error) {
        this.warn('scan of a secret store failed; others continue', {
          store: backend.name,
          ...errorAttrs(error),
        });
      }
    }
    return due;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.providers.values()].map((p) => p.close()));
  }

  private dueFromList(snapshot: SecretSnapshot, now: Date): DueReason | undefined {
    if (!snapshot.enabled || snapshot.managed) return undefined;
    const result = parsePolicy(snapshot.metadata, this.config.rotation.defaultValidityDays);
    if (result.kind === 'invalid') {
      this.warn('secret has an invalid rotation policy; it is not rotated', {
        ref: refKey(snapshot.ref),
        issues: result.issues.join('; '),
      });
    }
    if (result.kind !== 'policy') return undefined;
    return dueReason(result.policy, snapshot, now, this.config.rotation.nearExpiryWindowDays);
  }

  private async writeNewVersion(
    backend: Backend,
    fresh: SecretWithValue,
    policy: RotationPolicy,
  ): Promise<RotationResult> {
    const generator = policy.generator;
    if (generator.kind === 'password' || generator.kind === 'bytes') {
      const text =
        generator.kind === 'password'
          ? generatePassword(generator, this.random.randomInt)
          : generateBytes(generator, this.random.randomBytes);
      const value = nextValue(fresh.value, { [generator.field]: text }, generator.field);
      try {
        return await this.store(backend, fresh, policy, value);
      } catch (error) {
        if (error instanceof ConflictError) return this.lostRace(backend, fresh);
        throw error;
      }
    }
    return this.rotateWithProvider(backend, fresh, policy);
  }

  private async rotateWithProvider(
    backend: Backend,
    fresh: SecretWithValue,
    policy: RotationPolicy,
  ): Promise<RotationResult> {
    const provider = this.providers.get(policy.generator.kind);
    if (!provider)
      throw new ValidationError(
        `no credential provider is configured for rotor-generator ${policy.generator.kind}`,
      );
    const context: ProviderContext = { ref: fresh.ref, store: backend.name, policy, current: fresh.value };
    const refusal = provider.authorize(context);
    if (refusal) return skipped('not-rotatable', refusal, fresh.version);
    // Step 1: the provider accepts the new credential (dual: on the inactive role).
    const issued = await provider.issue(context);
    try {
      // Step 2: the store points consumers at it.
      const value = nextValue(fresh.value, issued.fields, issued.primaryField);
      return await this.store(backend, fresh, policy, value, issued);
    } catch (error) {
      if (error instanceof ConflictError) {
        const winner = await backend.read(fresh.ref);
        await provider.restore(context, winner.value, issued);
        return skipped(
          'rotated-concurrently',
          'another writer created a version first; the provider follows it',
          winner.version,
        );
      }
      await this.rollBack(provider, context, issued, error);
      throw error;
    }
  }

  private async rollBack(
    provider: CredentialProvider,
    context: ProviderContext,
    issued: IssuedCredential,
    cause: unknown,
  ) {
    try {
      await provider.restore(context, context.current, issued);
    } catch (restoreError) {
      throw new RotorError(
        'rotation_inconsistent',
        `${refKey(context.ref)}: the secret write failed (${describeError(cause).message}) and restoring the ` +
          `provider's previous credential failed too (${describeError(restoreError).message}); ` +
          'rotate again by hand or reset the credential to the stored value',
        true,
        { cause: restoreError },
      );
    }
  }

  private async store(
    backend: Backend,
    fresh: SecretWithValue,
    policy: RotationPolicy,
    value: SecretValue,
    issued?: IssuedCredential,
  ): Promise<RotationResult> {
    const now = this.clock.now();
    const written = await backend.write(fresh.ref, {
      value,
      ...(fresh.version !== undefined ? { expectedVersion: fresh.version } : {}),
      metadata: this.metadataFor(fresh, now, issued?.credentialId),
      contentType: fresh.contentType ?? contentTypeOf(value),
      notBefore: new Date(now.getTime() - NOT_BEFORE_SKEW_MS),
      expiresOn: new Date(now.getTime() + policy.validityDays * DAY_MS),
    });
    return {
      status: 'rotated',
      newVersion: written.version,
      ...(fresh.version !== undefined ? { previousVersion: fresh.version } : {}),
      ...(issued ? { credentialId: issued.credentialId } : {}),
    };
  }

  /** rotor's keys, sent as the backend's metadata semantics want them (BackendIdentity.nextMetadata). */
  private metadataFor(fresh: SecretSnapshot, now: Date, credentialId?: string): Record<string, string> {
    const own: Record<string, string> = { [keyIn(fresh.metadata, TAGS.rotatedAt)]: now.toISOString() };
    if (credentialId !== undefined) own[keyIn(fresh.metadata, TAGS.credentialId)] = credentialId;
    return identityOf(fresh.ref).nextMetadata(fresh.metadata, own, keyIn(fresh.metadata, TAGS.rotatedAt));
  }

  private async lostRace(backend: Backend, fresh: SecretSnapshot): Promise<RotationResult> {
    const current = await backend.readMetadata(fresh.ref);
    return skipped('rotated-concurrently', 'another writer created a version first', current.version);
  }
}

/** The existing spelling of a tag key (keys match case-insensitively), or the canonical one. */
function keyIn(metadata: Readonly<Record<string, string>>, key: string): string {
  return Object.keys(metadata).find((k) => k.trim().toLowerCase() === key.toLowerCase()) ?? key;
}

function errorAttrs(error: unknown): Record<string, string> {
  const { code, message } = describeError(error);
  return { code, error: message };
}
