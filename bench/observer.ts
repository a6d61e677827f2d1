/**
 * Times changes from outside rotor: a watch on one object records when the part the bench
 * cares about (a force annotation, a Secret's data, a pod template) last changed, on the
 * bench's own monotonic clock. rotor's self-reported timeline is never used for targets.
 */
import { type KubeConfig, Watch } from '@kubernetes/client-node';

type Obj = {
  metadata?: { name?: string; annotations?: Record<string, string> };
  data?: unknown;
  spec?: { template?: unknown };
};

export class ChangeWatch {
  private last: string | undefined;
  private waiters: Array<{ after: number; resolve: (t: number) => void }> = [];
  private controller?: AbortController;
  changes = 0;
  /** Called with the time of every change (the remote observer streams them to its parent). */
  onChange?: (t: number) => void;

  constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly name: string,
    private readonly fingerprint: (obj: Obj) => string,
  ) {}

  async start(): Promise<void> {
    let ready!: () => void;
    const started = new Promise<void>((r) => {
      ready = r;
    });
    this.controller = await new Watch(this.kc).watch(
      this.path,
      { fieldSelector: `metadata.name=${this.name}` },
      (phase, obj: Obj) => {
        if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
        const print = this.fingerprint(obj);
        const first = this.last === undefined;
        if (print === this.last) return;
        this.last = print;
        if (first) return ready();
        this.changes++;
        const t = performance.now();
        this.onChange?.(t);
        this.waiters = this.waiters.filter((w) => {
          if (t < w.after) return true;
          w.resolve(t);
          return false;
        });
      },
      () => undefined,
    );
    await started;
  }

  /** Resolves with the time of the first change seen after now. */
  next(timeoutMs = 30_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no change of ${this.name} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        after: performance.now(),
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
  }

  stop(): void {
    this.controller?.abort();
  }
}

/** What a watch compares, by name: the remote observer's child is told which one. */
export const FINGERPRINTS = {
  forceAnnotation: (obj: Obj) => obj.metadata?.annotations?.['force-sync'] ?? '',
  secretData: (obj: Obj) => JSON.stringify(obj.data ?? {}),
  podTemplate: (obj: Obj) => JSON.stringify(obj.spec?.template ?? {}),
};
export type Fingerprint = keyof typeof FINGERPRINTS;

export const { forceAnnotation, secretData, podTemplate } = FINGERPRINTS;
