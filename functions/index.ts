import { app } from '@azure/functions';
import { builtApp, getApp } from '../lib/functions-app.js';
import { appTerminateHandler } from './appTerminate.js';
import { healthHandler } from './health.js';
import { keyVaultEventsHandler } from './keyVaultEvents.js';
import { refreshHandler } from './refresh.js';
import { rotateHandler } from './rotate.js';
import { rotationTimerHandler } from './rotationTimer.js';
import { runStatusHandler } from './runStatus.js';
import { vaultAuditHandler } from './vaultAudit.js';

/**
 * The Functions app's entry point (package.json `main`): registers every trigger with the
 * runtime. Registration lives here alone so the local host, the CLI and the tests import
 * the handlers without registering them (outside the runtime, @azure/functions warns and
 * switches to a test mode at every registration).
 */
app.http('health', {
  methods: ['GET'],
  route: 'health',
  authLevel: 'function',
  handler: healthHandler(getApp),
});
app.eventGrid('keyVaultEvents', { handler: keyVaultEventsHandler(getApp) });
app.http('refresh', {
  methods: ['POST'],
  route: 'refresh',
  authLevel: 'function',
  handler: refreshHandler(getApp),
});
app.http('rotate', {
  methods: ['POST'],
  route: 'rotate',
  authLevel: 'function',
  handler: rotateHandler(getApp),
});
app.http('runStatus', {
  methods: ['GET'],
  route: 'runs/{eventId}',
  authLevel: 'function',
  handler: runStatusHandler(getApp),
});
app.timer('rotationTimer', { schedule: '%ROTOR_ROTATION_SCHEDULE%', handler: rotationTimerHandler(getApp) });
app.http('vaultAudit', {
  methods: ['POST'],
  route: 'vault-audit',
  authLevel: 'anonymous',
  handler: vaultAuditHandler(getApp),
});
app.hook.appTerminate(appTerminateHandler(builtApp));
