import { afterEach, describe, expect, it, vi } from 'vitest';
import { getApp } from '../../lib/functions-app.js';
import { VerifiedRotation } from '../../lib/rotation/verified.js';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('the Functions worker’s App (lib/functions-app.ts)', () => {
  it('takes over verified rotations a stopped worker left unsettled when it is built, and on every timer run', async () => {
    vi.stubEnv('ROTOR_CONFIG_JSON', '{}');
    vi.stubEnv('ROTOR_LOG_LEVEL', 'error');
    const resume = vi.spyOn(VerifiedRotation.prototype, 'resume').mockResolvedValue(undefined);

    const app = await getApp();
    await getApp();

    expect(app).toBe(await getApp());
    expect(resume).toHaveBeenCalledTimes(1);

    // And on every run of the rotation timer: another worker may have stopped since.
    await app.scanDue();
    expect(resume).toHaveBeenCalledTimes(2);
  });
});
