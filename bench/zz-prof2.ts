import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { RestartConfigSchema } from '../lib/config.js';
import { clusterClientFromKubeConfig, type ClusterClient } from '../lib/kube/cluster.js';
import { RestartEngine } from '../lib/kube/restart/index.js';
import { createLimiter } from '../lib/kube/restart/limiter.js';
const env = JSON.parse(readFileSync('/work/main/.cache/env-helper3.json', 'utf8'));
const mk = (y: string) => { const kc = new KubeConfig(); kc.loadFromString(y); return clusterClientFromKubeConfig('alpha', kc); };
const admin = mk(env.clusters[0].adminKubeconfig); const rotor = mk(env.clusters[0].rotorKubeconfig);
const N = 300; const ns = `prof-${Date.now()}`;
await admin.core.createNamespace({ body: { metadata: { name: ns } } });
const lim = createLimiter(8);
await Promise.all(Array.from({ length: N }, (_, i) => lim(async () => {
  await admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `s${i}` }, data: { v: Buffer.from('a').toString('base64') } } });
  await admin.apps.createNamespacedDeployment({ namespace: ns, body: { metadata: { name: `d${i}`, annotations: { 'reloader.stakater.com/auto': 'true' } }, spec: { selector: { matchLabels: { a: `d${i}` } }, template: { metadata: { labels: { a: `d${i}` } }, spec: { containers: [{ name: 'c', image: 'x', envFrom: [{ secretRef: { name: `s${i}` } }] }] } } } } });
})));
const timing: Record<string, number[]> = {};
function wrap<T extends object>(api: T, label: string): T {
  return new Proxy(api, {
    get(t, p, r) {
      const v = Reflect.get(t, p, r);
      if (typeof v !== 'function') return v;
      return async (...a: unknown[]) => {
        const s = performance.now();
        try {
          return await v.apply(t, a);
        } finally {
          (timing[`${label}.${String(p)}`] ??= []).push(performance.now() - s);
        }
      };
    },
  });
}
const timed: ClusterClient = { ...rotor, core: wrap(rotor.core, 'core'), apps: wrap(rotor.apps, 'apps') };
const engine = new RestartEngine(timed, RestartConfigSchema.parse({ concurrency: Number(process.env.C ?? 8) }), { log: (l, m, f) => { if (l === 'error') console.log(m, f); } });
await engine.start();
const changes = Array.from({ length: N }, (_, i) => ({ cluster: 'alpha', kind: 'Secret' as const, namespace: ns, name: `s${i}` }));
let t = performance.now();
await engine.plan(changes);
console.log('plan', (performance.now() - t).toFixed(0), 'ms');
for (const k of Object.keys(timing)) { const a = timing[k]!; console.log(k, a.length, 'avg', (a.reduce((x, y) => x + y, 0) / a.length).toFixed(1)); delete timing[k]; }
t = performance.now();
const r = (await Promise.all(changes.map((c) => engine.restart([c])))).flat();
console.log('restart', (performance.now() - t).toFixed(0), 'ms', r.filter((x) => x.status === 'restarted').length);
for (const k of Object.keys(timing)) { const a = timing[k]!; console.log(k, a.length, 'avg', (a.reduce((x, y) => x + y, 0) / a.length).toFixed(1)); }
await engine.close();
await admin.core.deleteNamespace({ name: ns });
