import { randomUUID } from 'node:crypto';
import { refKey, type SecretRef } from '../secret-ref.js';

/**
 * The state of a verified rotation (lib/rotation/verified.ts) between the write of the new
 * version and the end of its consumers' rollouts, kept in the state store so that a host that
 * stops on the way does not forget it: whichever instance resumes it follows the rollouts and
 * undoes the rotation when one fails. It names versions and workloads; it never holds a
 * secret value (an undo reads the previous version by its id from the store it lives in).
 */
export interface VerificationRecord {
  ref: SecretRef;
  /** The version the rotation wrote, and the one it replaced (what an undo restores). */
  newVersion: string;
  previousVersion: string;
  /** The policy asked for verification (`rotor-verify: rollout`): undo on a failed rollout. */
  verify: boolean;
  /** The generator, as far as it decides whether the previous credential is still valid. */
  generator: { kind: string; mode?: string };
  /** `rolling`: rollouts not all ended; `failed`: one failed and it was not undone (the secret does not rotate again). */
  state: 'rolling' | 'failed';
  /** The run that rotated, once it answered, and the workloads it restarted (followed to their end). */
  eventId?: string;
  /** Its source: `<source>:<eventId>` is the key of its record in the idempotency store. */
  source?: string;
  workloads: FollowedWorkload[];
  rotatedAt: string;
  /** The instance following it, and until when; past it another instance takes over. */
  owner: string;
  deadline: string;
  /** `failed`: why it was not undone. */
  reason?: string;
  /**
   * `rolling`, but the run's answer already said the new version did not reach every consumer
   * (why): whoever settles it marks it failed rather than verified when its rollouts end well.
   */
  unreached?: string;
  /**
   * `failed`, and a retry of the rotation is finishing its rollout (refresh and restart on
   * `newVersion`): `owner` runs it until `deadline`; meanwhile no other run takes it.
   */
  finishing?: true;
}

/** A restarted workload as the rollout follower needs it (lib/kube/restart/follow-restart.ts). */
export interface FollowedWorkload {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  generation?: number;
  job?: string;
}

/** A record with the version tag its next conditional write or delete must match. */
export interface StoredVerification {
  record: VerificationRecord;
  etag: string;
}

/**
 * Conditional writes only: two instances that read the same record can both try to act on
 * it, and exactly one write (a replace or a delete on the etag it read) succeeds; the other
 * learns that it lost and leaves the rotation alone. That is what keeps a rotation from being
 * undone twice.
 */
export interface VerificationStore {
  /** Creates the record of a ref; undefined when the ref already has one. */
  create(record: VerificationRecord): Promise<StoredVerification | undefined>;
  get(refKey: string): Promise<StoredVerification | undefined>;
  list(): Promise<StoredVerification[]>;
  /** Replaces it when its etag is still `etag`; undefined when it changed or is gone. */
  replace(refKey: string, record: VerificationRecord, etag: string): Promise<StoredVerification | undefined>;
  /** Deletes it when its etag is still `etag`; false when it changed (it is gone either way otherwise). */
  remove(refKey: string, etag: string): Promise<boolean>;
}

/** The store within one process (no state store configured) and for tests: the same conditional semantics. */
export class MemoryVerificationStore implements VerificationStore {
  private readonly records = new Map<string, StoredVerification>();

  async create(record: VerificationRecord): Promise<StoredVerification | undefined> {
    const key = refKey(record.ref);
    if (this.records.has(key)) return undefined;
    return this.put(key, record);
  }

  async get(refKey: string): Promise<StoredVerification | undefined> {
    return copy(this.records.get(refKey));
  }

  async list(): Promise<StoredVerification[]> {
    return [...this.records.values()].map((s) => copy(s) as StoredVerification);
  }

  async replace(
    refKey: string,
    record: VerificationRecord,
    etag: string,
  ): Promise<StoredVerification | undefined> {
    if (this.records.get(refKey)?.etag !== etag) return undefined;
    return this.put(refKey, record);
  }

  async remove(refKey: string, etag: string): Promise<boolean> {
    const current = this.records.get(refKey);
    if (!current) return true;
    if (current.etag !== etag) return false;
    this.records.delete(refKey);
    return true;
  }

  private put(key: string, record: VerificationRecord): StoredVerification {
    const stored = { record: structuredClone(record), etag: randomUUID() };
    this.records.set(key, stored);
    return copy(stored) as StoredVerification;
  }
}

function copy(s: StoredVerification | undefined): StoredVerification | undefined {
  return s && { record: structuredClone(s.record), etag: s.etag };
}
