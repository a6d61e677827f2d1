/**
 * Times changes from outside rotor: a watch reports when the part the bench cares about (a
 * force annotation, a Secret's data, a pod template) changed, on the watching process's
 * monotonic clock (bench/remote-observer.ts runs it beside rotor or in a child process).
 * rotor's self-reported timeline is never used for targets.
 */
import { type KubeConfig, Watch } from '@kubernetes/client-node';

type Obj = {
  metadata?: { name?: string; annotations?: Record<string, string> };
  data?: unknown;
  spec?: { template?: unknown };
};

/**
 * With a name, one object (its first state is the baseline); without, every object under
 * the path, each with its own baseline (the burst's view of a namespace). A change is a
 * new value of the fingerprinted part.
 */
export class ChangeWatch {
  private readonly last = new Map<string, string>();
  private controller?: AbortController;
  /** Called with the object's name and the time of every change (the remote observer streams them). */
  onChange?: (name: string, t: number) => void;

  constructor(
    private readonly kc: KubeConfig,
    private readonly path: string,
    private readonly name: string | undefined,
    private readonly fingerprint: (obj: Obj) => string,
  ) {}

  async start(): Promise<void> {
    let ready!: () => void;
    const started = new Promise<void>((r) => {
      ready = r;
    });
    this.controller = await new Watch(this.kc).watch(
      this.path,
      this.name ? { fieldSelector: `metadata.name=${this.name}` } : {},
      (phase, obj: Obj) => {
        if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
        const name = obj.metadata?.name ?? '';
        const print = this.fingerprint(obj);
        const before = this.last.get(name);
        if (print === before) return;
        this.last.set(name, print);
        if (before === undefined) return this.name ? ready() : undefined;
        this.onChange?.(name, performance.now());
      },
      () => undefined,
    );
    // A namespace's objects arrive as ADDED events once the watch is open.
    if (!this.name) setTimeout(ready, 300);
    await started;
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
