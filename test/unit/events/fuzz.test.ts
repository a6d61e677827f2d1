import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthenticationError, ValidationError } from '../../../lib/errors.js';
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_MEDIA_TYPE,
  parseCloudEvents,
  safeAbuseProtectionResponse,
  safeParseCloudEvents,
} from '../../../lib/events/cloudevents.js';
import {
  parseEventGridEvents,
  safeParseEventGridBody,
  safeParseEventGridEvents,
  safeSubscriptionValidationResponse,
} from '../../../lib/events/eventgrid.js';
import { safeDecodeKeyVaultDelivery, safeDecodeKeyVaultEvent } from '../../../lib/events/keyvault-event.js';
import { parseManualRequest } from '../../../lib/events/manual-request.js';
import { parseVaultAuditBody, safeDecodeVaultAudit } from '../../../lib/events/vault-audit.js';
import { authenticateWebhook } from '../../../lib/intake/webhook-auth.js';
import { Redacted } from '../../../lib/redacted.js';
import { fixtureText, testConfig } from './support.js';

const config = testConfig();
const receivedAt = new Date('2024-01-01T00:00:00Z');
const RUNS = { numRuns: 400 };

/** Values shaped like the real payloads, with every field free to be anything. */
const loose = fc.oneof(
  fc.string(),
  fc.constant(''),
  fc.constant(' '),
  fc.integer(),
  fc.constant(null),
  fc.anything(),
);
const eventLike = fc.record(
  {
    id: loose,
    topic: fc.oneof(
      loose,
      fc.constant('/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/sample-kv'),
    ),
    source: loose,
    subject: loose,
    eventType: fc.oneof(
      loose,
      fc.constantFrom(
        'Microsoft.KeyVault.SecretNewVersionCreated',
        'Microsoft.KeyVault.CertificateExpired',
        'Microsoft.KeyVault.KeyExpired',
      ),
    ),
    type: fc.oneof(loose, fc.constant('Microsoft.KeyVault.SecretNearExpiry')),
    specversion: fc.oneof(loose, fc.constant('1.0')),
    eventTime: fc.oneof(
      loose,
      fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toISOString())),
    ),
    time: loose,
    data: fc.oneof(
      loose,
      fc.dictionary(fc.string(), loose),
      fc.record(
        { ' VaultName ': loose, ObjectName: loose, Version: loose, Id: loose, __proto__: loose },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);
const auditLike = fc.record(
  {
    type: fc.oneof(loose, fc.constantFrom('request', 'response')),
    error: loose,
    time: loose,
    request: fc.oneof(
      loose,
      fc.record(
        {
          id: loose,
          operation: fc.oneof(loose, fc.constantFrom('create', 'update', 'patch', 'delete', 'read')),
          path: fc.oneof(
            loose,
            fc.constantFrom('secret/data/a', 'secret/metadata/', 'kv1/x', 'secret/', 'secret/destroy/a/b'),
          ),
          mount_point: fc.oneof(loose, fc.constantFrom('secret/', 'team-a/kv/')),
          mount_type: fc.oneof(loose, fc.constant('kv')),
          namespace: fc.oneof(loose, fc.record({ path: loose })),
        },
        { requiredKeys: [] },
      ),
    ),
    response: fc.oneof(
      loose,
      fc.record({ data: fc.oneof(loose, fc.dictionary(fc.string(), loose)) }, { requiredKeys: [] }),
    ),
  },
  { requiredKeys: [] },
);

/** Real fixture text with a few characters replaced, inserted or removed. */
function mutated(text: string) {
  return fc
    .array(fc.tuple(fc.nat(text.length), fc.nat(3), fc.string({ maxLength: 3 })), {
      minLength: 1,
      maxLength: 6,
    })
    .map((edits) =>
      edits.reduce((t, [at, cut, insert]) => t.slice(0, at) + insert + t.slice(at + cut), text),
    );
}

function onlyValidationErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
  }
}

describe('parsers under fuzzing: no input throws anything but the typed validation error', () => {
  it('Event Grid schema parsers never throw and their throwing variant throws only ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), eventLike, fc.array(eventLike)), (body) => {
        const result = safeParseEventGridEvents(body);
        if (result.success) safeSubscriptionValidationResponse(result.data);
        onlyValidationErrors(() => parseEventGridEvents(body));
      }),
      RUNS,
    );
  });

  it('Event Grid body text: arbitrary strings and mutated real payloads', () => {
    const real = fixtureText('eventgrid/keyvault-all-types.eventgrid.json');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), mutated(real)), (text) => {
        safeParseEventGridBody(text);
      }),
      RUNS,
    );
  });

  it('CloudEvents parsers never throw, whatever the media type', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), eventLike, fc.array(eventLike)),
        fc.constantFrom('application/json', CLOUDEVENTS_MEDIA_TYPE, CLOUDEVENTS_BATCH_MEDIA_TYPE),
        (body, mediaType) => {
          safeParseCloudEvents(body, mediaType);
          onlyValidationErrors(() => parseCloudEvents(body, mediaType));
        },
      ),
      RUNS,
    );
  });

  it('Key Vault decoding never throws for any envelope or trigger input', () => {
    fc.assert(
      fc.property(eventLike, fc.anything(), (raw, other) => {
        safeDecodeKeyVaultDelivery(raw, { keyVaults: config.keyVaults, receivedAt });
        safeDecodeKeyVaultDelivery(other, { keyVaults: config.keyVaults, receivedAt });
        const envelope = {
          id: typeof raw.id === 'string' ? raw.id : JSON.stringify(raw.id ?? null),
          type: typeof raw.eventType === 'string' ? raw.eventType : JSON.stringify(raw.eventType ?? null),
          source: typeof raw.topic === 'string' ? raw.topic : undefined,
          data: raw.data,
        };
        safeDecodeKeyVaultEvent(envelope, { keyVaults: config.keyVaults, receivedAt });
      }),
      RUNS,
    );
  });

  it('Vault audit decoding never throws: arbitrary text, entry-shaped JSON, NDJSON and mutated real entries', () => {
    const real = fixtureText('vault-audit/openbao-2.7.2-session.ndjson').split('\n').slice(8, 20).join('\n');
    const text = fc.oneof(
      fc.string(),
      fc.json(),
      auditLike.map((e) => JSON.stringify(e)),
      fc.array(auditLike).map((a) => JSON.stringify(a)),
      fc.array(auditLike).map((a) => a.map((e) => JSON.stringify(e)).join('\n')),
      mutated(real),
    );
    fc.assert(
      fc.property(text, fc.option(fc.string()), (body, server) => {
        safeDecodeVaultAudit(body, { vaults: config.vaults, server, receivedAt });
        onlyValidationErrors(() => parseVaultAuditBody(body));
      }),
      RUNS,
    );
  });

  it('manual request bodies throw only ValidationError', () => {
    const shaped = fc.record(
      {
        keyVault: loose,
        name: loose,
        vault: loose,
        mount: loose,
        path: loose,
        namespace: loose,
        dryRun: loose,
        requestId: loose,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          shaped.map((b) => JSON.stringify(b)),
        ),
        (body) => {
          onlyValidationErrors(() => parseManualRequest(body, config));
        },
      ),
      RUNS,
    );
  });

  it('webhook authentication throws only AuthenticationError and abuse protection never throws', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('authorization', 'x-rotor-signature', 'webhook-request-origin'),
          fc.string(),
        ),
        fc.uint8Array(),
        (h, body) => {
          try {
            authenticateWebhook((n) => h[n], body, {
              hmacHeader: 'x-rotor-signature',
              bearerToken: new Redacted('x'.repeat(20)),
              hmacSecret: new Redacted('y'.repeat(20)),
            });
          } catch (error) {
            expect(error).toBeInstanceOf(AuthenticationError);
          }
          safeAbuseProtectionResponse((n) => h[n]);
        },
      ),
      RUNS,
    );
  });
});
