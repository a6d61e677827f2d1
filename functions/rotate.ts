import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getApp } from '../lib/app.js';
import { respond } from '../lib/events/http-response.js';
import { handleManual } from '../lib/events/manual-intake.js';

/** POST /api/rotate `{ "keyVault": "kv", "name": "db" }` or `{ "vault": "bao", "mount": "secret", "path": "app/db" }`. */
export async function rotate(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return respond(
    async () => handleManual(await getApp(), 'rotate', request),
    (error) => context.warn(`rotate: ${(error as Error).message}`),
  );
}

app.http('rotate', { methods: ['POST'], route: 'rotate', authLevel: 'function', handler: rotate });
