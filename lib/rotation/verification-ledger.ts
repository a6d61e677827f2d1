import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import { refKey } from '../secret-ref.js';
import type { StoredVerification, VerificationRecord, VerificationStore } from '../state/verifications.js';

type Log = { warn(msg: string, fields: Record<string, unknown>): void };

/**
 * The verification records as one instance sees them: the store's records it last read, and
 * which of them it follows itself. Every write is conditional on the ETag last seen; a write
 * that loses (another instance wrote since) forgets the record here, so this instance leaves
 * that rotation to the other. A record the store could not take (unreachable) is kept here
 * with an empty ETag and followed by this process alone.
 */
export class VerificationLedger {
  private readonly seen = new Map<string, StoredVerification>();
  private readonly followed = new Set<string>();

  constructor(
    private readonly store: VerificationStore,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {}

  get(key: string): StoredVerification | undefined {
    return this.seen.get(key);
  }

  /** This instance follows the record's rollouts (its own rotation, or a take-over). */
  follows(key: string): boolean {
    return this.followed.has(key);
  }

  follow(key: string): void {
    this.followed.add(key);
  }

  unfollow(key: string): void {
    this.followed.delete(key);
  }

  /** The store's record of a ref, now. */
  async read(key: string): Promise<StoredVerification | undefined> {
    const s = await this.store.get(key);
    if (s) this.seen.set(key, s);
    else this.forget(key);
    return s;
  }

  /** Every record in the store; those this instance follows keep the version it holds. */
  async list(): Promise<StoredVerification[]> {
    const all = await this.store.list();
    for (const s of all) {
      const key = refKey(s.record.ref);
      if (!this.followed.has(key)) this.seen.set(key, s);
    }
    return all;
  }

  /** A new rotation this instance follows; kept here alone when the store cannot take it. */
  async create(record: VerificationRecord): Promise<void> {
    const key = refKey(record.ref);
    const stored = await this.store.create(record).catch((error: unknown) => {
      this.log.warn(
        'the undo state of a rotation could not be stored; if rotor stops before its rollouts end, it is not verified',
        {
          ref: key,
          version: record.newVersion,
          error: describeError(error).message,
        },
      );
      return undefined;
    });
    this.seen.set(key, stored ?? { record, etag: '' });
    this.followed.add(key);
  }

  /** A conditional replace; undefined (and forgotten here) when another instance wrote it since. */
  async save(
    key: string,
    s: StoredVerification,
    record: VerificationRecord,
  ): Promise<StoredVerification | undefined> {
    if (!s.etag) return this.remember(key, { record, etag: '' });
    let next: StoredVerification | undefined;
    try {
      next = await this.store.replace(key, record, s.etag);
    } catch (error) {
      this.log.warn('verified rotation: the state store did not take an update', {
        ref: key,
        error: describeError(error).message,
      });
      return this.remember(key, { record, etag: s.etag });
    }
    if (!next) this.forget(key);
    return next && this.remember(key, next);
  }

  /**
   * Takes a record over from another instance: a conditional replace that must land;
   * undefined when another instance wrote it since, or when the store did not answer.
   */
  async claim(
    key: string,
    s: StoredVerification,
    record: VerificationRecord,
  ): Promise<StoredVerification | undefined> {
    const next = await this.store.replace(key, record, s.etag).catch(() => undefined);
    if (next) this.remember(key, next);
    return next;
  }

  /** Settled: the record goes, unless another instance changed it since. */
  async drop(key: string, s: StoredVerification): Promise<void> {
    this.forget(key);
    if (!s.etag) return;
    const removed = await this.store.remove(key, s.etag).catch(() => true);
    if (removed) return;
    // Read a while ago: a failed record of the same rotation is settled all the same, unless
    // a retry is finishing it since (verification-finish.ts): that run settles it.
    const fresh = await this.store.get(key).catch(() => undefined);
    const { state, newVersion, finishing } = fresh?.record ?? {};
    if (fresh && state === 'failed' && !finishing && newVersion === s.record.newVersion)
      await this.store.remove(key, fresh.etag).catch(() => undefined);
  }

  forget(key: string): void {
    this.seen.delete(key);
    this.followed.delete(key);
  }

  /** An ISO time `ms` from now (deadlines). */
  after(ms: number): string {
    return new Date(this.clock.now().getTime() + ms).toISOString();
  }

  private remember(key: string, s: StoredVerification): StoredVerification {
    this.seen.set(key, s);
    return s;
  }
}
