import { describe, expect, it } from 'vitest';
import { appTerminateHandler, TERMINATE_GRACE_MS } from '../../../functions/appTerminate.js';
import { parseConfig } from '../../../lib/config.js';
import { recordingApp } from './recording-app.js';

describe('the Functions worker terminating (app.hook.appTerminate)', () => {
  it('drains the App within the 4 s the hook has, even when the setting allows more', async () => {
    const app = recordingApp({ config: parseConfig({ runs: { shutdownGraceMs: 20_000 } }) });

    await appTerminateHandler(() => Promise.resolve(app))();

    expect(app.drains).toEqual([TERMINATE_GRACE_MS]);
    expect(TERMINATE_GRACE_MS).toBeLessThan(5_000);
  });

  it('drains within a shorter setting as set', async () => {
    const app = recordingApp({ config: parseConfig({ runs: { shutdownGraceMs: 1_500 } }) });

    await appTerminateHandler(() => Promise.resolve(app))();

    expect(app.drains).toEqual([1_500]);
  });

  it('builds no App when none was built, and ignores one that failed to build', async () => {
    await expect(appTerminateHandler(() => undefined)()).resolves.toBeUndefined();
    await expect(
      appTerminateHandler(() => Promise.reject(new Error('bad config')))(),
    ).resolves.toBeUndefined();
  });
});
