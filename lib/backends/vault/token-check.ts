import { statusOf } from '../../response-status.js';
import type { VaultClient } from './client.js';

/** What a 403 from Vault meant: the token itself is refused, it lacks a policy, or the lookup could not say. */
export type Refusal = 'invalid-token' | 'not-permitted' | 'unknown';

/** How long a verdict is reused: a burst of refused calls costs one lookup, a revoked token is noticed soon. */
const TTL_MS = 30_000;

/**
 * OpenBao and Vault answer 403 "permission denied" both for a token they do not know and for
 * a valid token whose policies do not cover the path. `auth/token/lookup-self` tells them
 * apart: every valid token may call it (the `default` policy grants it), an unknown or
 * expired one may not. The verdict is cached per token for a short while.
 */
export class TokenCheck {
  private readonly verdicts = new Map<string, { at: number; refusal: Promise<Refusal> }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Why `client`'s token was refused (call it after a 403). */
  explain(client: VaultClient): Promise<Refusal> {
    const token = client.token ?? '';
    const cached = this.verdicts.get(token);
    if (cached && this.now() - cached.at < TTL_MS) return cached.refusal;
    const refusal = client.tokenLookupSelf().then(
      (): Refusal => 'not-permitted',
      (error: unknown): Refusal => {
        const status = statusOf(error);
        if (status === 401 || status === 403) return 'invalid-token';
        this.verdicts.delete(token); // the lookup itself failed: ask again next time
        return 'unknown';
      },
    );
    // A few tokens at most (one per namespace; AppRole logs in anew): never grows without bound.
    if (this.verdicts.size >= 16) this.verdicts.clear();
    this.verdicts.set(token, { at: this.now(), refusal });
    return refusal;
  }
}
