import type { EventGridEvent, InvocationContext } from '@azure/functions';
import type { AppSource } from '../lib/app-types.js';
import { handleKeyVaultEvent, type KeyVaultEventResult } from '../lib/intake/keyvault.js';

/**
 * Key Vault events through Event Grid, one invocation per event, Event Grid schema or
 * CloudEvents (the Functions runtime answers both validation handshakes itself).
 * A thrown error makes Event Grid retry, so only retryable faults are thrown. An invalid
 * event is logged and acknowledged: a Functions Event Grid trigger cannot answer 400, so
 * such events are not dead-lettered in Azure; the local host's webhook route answers 400.
 */
export const keyVaultEventsHandler =
  (rotor: AppSource) =>
  async (
    event: EventGridEvent | Record<string, unknown>,
    context: InvocationContext,
  ): Promise<KeyVaultEventResult> =>
    handleKeyVaultEvent(await rotor(), event, context);
