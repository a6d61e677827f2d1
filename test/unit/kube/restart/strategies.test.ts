import { describe, expect, it } from 'vitest';
import { annotationsPatch } from '../../../../lib/kube/restart/strategies/annotations.js';
import { envVarsPatch } from '../../../../lib/kube/restart/strategies/env-vars.js';
import type { ReloadTarget, TemplateView } from '../../../../lib/kube/restart/target.js';

const clock = { now: () => new Date('2026-03-01T10:00:00.500Z') };
const db: ReloadTarget = { type: 'SECRET', name: 'db', namespace: 'shop', hash: 'h-db', container: 'app' };
const api: ReloadTarget = {
  type: 'SECRET',
  name: 'api-key',
  namespace: 'shop',
  hash: 'h-api',
  container: 'side',
};
const cfg: ReloadTarget = {
  type: 'CONFIGMAP',
  name: 'cfg',
  namespace: 'shop',
  hash: 'h-cfg',
  container: 'app',
};

function template(
  env: Record<string, Array<{ name: string; value: string }>> = {},
  annotations = {},
): TemplateView {
  return {
    metadata: { annotations },
    spec: {
      containers: [
        { name: 'app', env: env.app ?? [] },
        { name: 'side', env: env.side ?? [] },
      ],
    },
  };
}

describe('env-vars strategy', () => {
  it('puts every pending hash in one strategic-merge fragment, grouped by container', () => {
    const result = envVarsPatch(template(), [db, api, cfg]);
    expect(result?.patch).toEqual({
      spec: {
        containers: [
          {
            name: 'app',
            env: [
              { name: 'STAKATER_CFG_CONFIGMAP', value: 'h-cfg' },
              { name: 'STAKATER_DB_SECRET', value: 'h-db' },
            ],
          },
          { name: 'side', env: [{ name: 'STAKATER_API_KEY_SECRET', value: 'h-api' }] },
        ],
      },
    });
    expect(result?.written.map((t) => t.name)).toEqual(['cfg', 'api-key', 'db']);
  });

  it('returns null when the variable already holds the hash (Reloader wrote it, or rotor did)', () => {
    expect(envVarsPatch(template({ app: [{ name: 'STAKATER_DB_SECRET', value: 'h-db' }] }), [db])).toBeNull();
  });

  it('writes only the targets whose value differs', () => {
    const t = template({
      app: [
        { name: 'STAKATER_DB_SECRET', value: 'h-db' },
        { name: 'STAKATER_CFG_CONFIGMAP', value: 'old' },
      ],
    });
    const result = envVarsPatch(t, [db, cfg]);
    expect(result?.written).toEqual([cfg]);
    expect(result?.patch.spec?.containers).toEqual([
      { name: 'app', env: [{ name: 'STAKATER_CFG_CONFIGMAP', value: 'h-cfg' }] },
    ]);
  });

  it('looks at the chosen container only: the same variable on another container does not count', () => {
    expect(
      envVarsPatch(template({ side: [{ name: 'STAKATER_DB_SECRET', value: 'h-db' }] }), [db]),
    ).not.toBeNull();
  });
});

describe('annotations strategy', () => {
  it('writes last-reloaded-from like Reloader and remembers every hash in rotor.dev/reloaded-hashes', () => {
    const result = annotationsPatch(template(), [db, cfg], clock);
    const annotations = result?.patch.metadata?.annotations ?? {};
    expect(JSON.parse(annotations['reloader.stakater.com/last-reloaded-from'] ?? '')).toEqual({
      type: 'SECRET',
      name: 'db',
      namespace: 'shop',
      hash: 'h-db',
      containerRefs: ['app'],
      observedAt: 1772359200,
    });
    expect(Object.keys(JSON.parse(annotations['reloader.stakater.com/last-reloaded-from'] ?? ''))).toEqual([
      'type',
      'name',
      'namespace',
      'hash',
      'containerRefs',
      'observedAt',
    ]);
    expect(JSON.parse(annotations['rotor.dev/reloaded-hashes'] ?? '')).toEqual({
      'CONFIGMAP/cfg': 'h-cfg',
      'SECRET/db': 'h-db',
    });
  });

  it('is idempotent: null when the template already carries these hashes', () => {
    const first = annotationsPatch(template(), [db, cfg], clock);
    const again = annotationsPatch(template({}, first?.patch.metadata?.annotations), [db, cfg], clock);
    expect(again).toBeNull();
  });

  it('recognises a last-reloaded-from written by Reloader for the same hash', () => {
    const reloaderWrote = JSON.stringify({
      type: 'SECRET',
      name: 'db',
      namespace: 'shop',
      hash: 'h-db',
      containerRefs: ['app'],
      observedAt: 1,
    });
    expect(
      annotationsPatch(
        template({}, { 'reloader.stakater.com/last-reloaded-from': reloaderWrote }),
        [db],
        clock,
      ),
    ).toBeNull();
  });

  it('writes again when the hash changed', () => {
    const first = annotationsPatch(template(), [db], clock);
    const changed = annotationsPatch(
      template({}, first?.patch.metadata?.annotations),
      [{ ...db, hash: 'h-db-2' }],
      clock,
    );
    expect(changed?.written.map((t) => t.hash)).toEqual(['h-db-2']);
  });

  it('treats unreadable bookkeeping as nothing applied', () => {
    const t = template(
      {},
      { 'rotor.dev/reloaded-hashes': '{not json', 'reloader.stakater.com/last-reloaded-from': '[]' },
    );
    expect(annotationsPatch(t, [db], clock)?.written).toEqual([db]);
  });
});
