import { RotorError } from './errors.js';

/**
 * A run started before its event's claim was decided (lib/run.ts) passes this gate before
 * its first effect other than the force: rotating, restarting, telling the cluster,
 * answering. A run shared by several events opens when any of their claims is won, and
 * closes when every claim that joined it was lost; a run whose gate closed stops there.
 */
export class ClaimGate {
  private pending = 0;
  private decided = false;
  private won = false;
  private open: (won: boolean) => void = () => undefined;
  /** True once a claim was won; false once every claim that joined was lost. */
  readonly opened = new Promise<boolean>((resolve) => {
    this.open = resolve;
  });

  /** Every claim that joined was lost: no run may join it any more. */
  get closed(): boolean {
    return this.decided && this.pending === 0 && !this.won;
  }

  /** A claim joins the run; `claimed` settles true when won, false (or rejects) when not. */
  add(claimed: Promise<boolean>): void {
    this.pending++;
    claimed
      .catch(() => false)
      .then((won) => {
        this.pending--;
        if (won) this.won = true;
        if (this.won || this.pending === 0) {
          this.decided = true;
          this.open(this.won);
        }
      });
  }
}

/** The run's claim went to another delivery (or could not be written): the run stops at its gate. */
export class ClaimLostError extends RotorError {
  constructor() {
    super('claim_lost', "the event's claim was not won; the speculative run stops before restarting", false);
  }
}

/** For a catch: a lost claim becomes undefined, any other failure is thrown on. */
export function unlessLost(error: unknown): undefined {
  if (error instanceof ClaimLostError) return undefined;
  throw error;
}
