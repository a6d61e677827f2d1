import type { KnownSystemEventTypes } from '@azure/eventgrid';
import { z } from 'zod';
import { azureKeyVaultNameOf, configuredKeyVaultOf } from '../backends/keyvault/ref.js';
import type { ChangeKind } from '../change-event.js';
import type { KeyVaultConfig } from '../config.js';
import { keyVaultNameProblem } from '../safe-names.js';
import {
  CLOUDEVENTS_MEDIA_TYPE,
  type CloudEvent,
  looksLikeCloudEvent,
  safeParseCloudEvents,
} from './cloudevents.js';
import { changed, type Decoded, ignored } from './decoded.js';
import { type EventGridEvent, isSubscriptionValidation, safeParseEventGridEvents } from './eventgrid.js';
import { isRecord } from './json.js';
import { fail, ok, type ParseResult } from './result.js';

/** The parts of an Event Grid or CloudEvents event that a Key Vault event is read from. */
export interface KeyVaultEnvelope {
  id: string;
  type: string;
  /** Event Grid `topic` / CloudEvents `source`: the vault's ARM id. */
  source?: string;
  subject?: string;
  time?: string;
  data: unknown;
}

export function envelopeFromEventGrid(event: EventGridEvent): KeyVaultEnvelope {
  return {
    id: event.id,
    type: event.eventType,
    source: event.topic,
    subject: event.subject,
    time: event.eventTime,
    data: event.data,
  };
}

export function envelopeFromCloudEvent(event: CloudEvent): KeyVaultEnvelope {
  return {
    id: event.id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    data: event.data,
  };
}

type KeyVaultEventType = Extract<KnownSystemEventTypes, `Microsoft.KeyVault.${string}`>;
type Mapping = { kind: ChangeKind; object: 'secret' | 'certificate' } | { ignore: string };

const KEY_IGNORED =
  'keys are not consumed as Secrets: no ExternalSecret, VaultStaticSecret or CSI mount derives from a key';

/**
 * Every Key Vault event type the Event Grid SDK knows, checked at compile time (`satisfies`
 * fails when the SDK adds one). A certificate's value is served through the backing secret
 * Key Vault keeps under the certificate's name, so certificate events act on that secret.
 */
const KEY_VAULT_EVENTS = {
  'Microsoft.KeyVault.SecretNewVersionCreated': { kind: 'changed', object: 'secret' },
  'Microsoft.KeyVault.SecretNearExpiry': { kind: 'near-expiry', object: 'secret' },
  'Microsoft.KeyVault.SecretExpired': { kind: 'expired', object: 'secret' },
  'Microsoft.KeyVault.CertificateNewVersionCreated': { kind: 'changed', object: 'certificate' },
  'Microsoft.KeyVault.CertificateNearExpiry': { kind: 'near-expiry', object: 'certificate' },
  'Microsoft.KeyVault.CertificateExpired': { kind: 'expired', object: 'certificate' },
  'Microsoft.KeyVault.KeyNewVersionCreated': { ignore: KEY_IGNORED },
  'Microsoft.KeyVault.KeyNearExpiry': { ignore: KEY_IGNORED },
  'Microsoft.KeyVault.KeyExpired': { ignore: KEY_IGNORED },
  'Microsoft.KeyVault.VaultAccessPolicyChanged': {
    ignore: 'an access policy change does not change any secret',
  },
} as const satisfies Record<KeyVaultEventType, Mapping>;

function mappingOf(type: string): Mapping | undefined {
  return Object.hasOwn(KEY_VAULT_EVENTS, type) ? KEY_VAULT_EVENTS[type as KeyVaultEventType] : undefined;
}

/**
 * Key Vault sends `data` in PascalCase (`VaultName`, `ObjectName`), docs samples carry stray
 * spaces in keys and values (`"ObjectName "`, `" ee05..."`), and camelCase has been seen;
 * the SDK's types are camelCase but it converts nothing. So keys are compared lower-cased
 * with whitespace removed, and string values trimmed.
 */
export function normaliseData(data: unknown): Record<string, unknown> {
  if (!isRecord(data)) return {};
  // fromEntries defines own properties, so a "__proto__" key cannot reach the prototype.
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [
      key.replace(/\s+/g, '').toLowerCase(),
      typeof value === 'string' ? value.trim() : value,
    ]),
  );
}

const KeyVaultDataSchema = z.object({
  id: z.string().optional().catch(undefined),
  vaultname: z.string().optional().catch(undefined),
  objectname: z.string().optional().catch(undefined),
  version: z.string().optional().catch(undefined),
});

const VAULT_NAME = /^[0-9A-Za-z-]{1,127}$/;
const ARM_VAULT = /\/providers\/microsoft\.keyvault\/vaults\/([^/\s]+)/i;

export interface KeyVaultDecodeContext {
  keyVaults: readonly KeyVaultConfig[];
  receivedAt: Date;
}

/** One Key Vault event → a ChangeEvent on the secret it names, or an ignored event with the reason. */
export function safeDecodeKeyVaultEvent(
  envelope: KeyVaultEnvelope,
  context: KeyVaultDecodeContext,
): ParseResult<Decoded> {
  const { id, type } = envelope;
  if (isSubscriptionValidation({ eventType: type })) {
    return ok(ignored(id, 'subscription validation is answered by the webhook handshake, not processed'));
  }
  const mapping = mappingOf(type);
  if (!mapping) {
    const reason = type.startsWith('Microsoft.KeyVault.')
      ? `unknown Key Vault event type ${type}`
      : `not a Key Vault event (${type})`;
    return ok(ignored(id, reason));
  }
  if ('ignore' in mapping) return ok(ignored(id, `${type}: ${mapping.ignore}`));

  const data = KeyVaultDataSchema.parse(normaliseData(envelope.data));
  const vault = resolveVault(envelope.source, data, context.keyVaults);
  if (!vault.success) return vault;
  const name = data.objectname || envelope.subject?.trim() || '';
  if (keyVaultNameProblem(name)) {
    return fail(`event ${id}: object name '${name.slice(0, 130)}' is not a Key Vault object name`);
  }
  const observedAt = envelope.time ? new Date(envelope.time) : context.receivedAt;
  if (Number.isNaN(observedAt.getTime()))
    return fail(`event ${id}: time '${envelope.time?.slice(0, 40)}' is not a date`);
  if (!context.keyVaults.some((kv) => kv.name === vault.data)) {
    return ok(ignored(id, `key vault '${vault.data}' is not configured (keyVaults in the rotor config)`));
  }
  return ok(
    changed({
      id,
      ref: { backend: 'azure-keyvault', vault: vault.data, name },
      ...(data.version ? { version: data.version } : {}),
      kind: mapping.kind,
      source: 'eventgrid',
      observedAt,
      receivedAt: context.receivedAt,
    }),
  );
}

/**
 * The vault is named by the topic (Event Grid stamps it; a publisher cannot forge it), by
 * `data.VaultName`, or by the object id URL matched against configured vault URLs. When the
 * topic and the data disagree the event is refused rather than guessed at.
 */
function resolveVault(
  source: string | undefined,
  data: z.output<typeof KeyVaultDataSchema>,
  keyVaults: readonly KeyVaultConfig[],
): ParseResult<string> {
  const fromTopic = source ? ARM_VAULT.exec(source)?.[1]?.toLowerCase() : undefined;
  const fromData = data.vaultname?.toLowerCase() || undefined;
  if (fromTopic && fromData && fromTopic !== fromData) {
    return fail(`topic names vault '${fromTopic}' but data.VaultName names '${fromData.slice(0, 130)}'`);
  }
  const name = fromTopic ?? fromData ?? vaultFromObjectId(data.id, keyVaults);
  if (!name) return fail('event names no vault: no Microsoft.KeyVault topic, VaultName or object id');
  if (!VAULT_NAME.test(name)) return fail(`'${name.slice(0, 130)}' is not a Key Vault name`);
  return ok(name);
}

/**
 * The vault of an object id URL, by the Key Vault backend's one URL canon (configured URLs,
 * any Azure cloud, private links): the same rule that matches an ESO provider's vaultUrl.
 * An Azure vault that is not configured is named, so the event is ignored as such.
 */
function vaultFromObjectId(
  objectId: string | undefined,
  keyVaults: readonly KeyVaultConfig[],
): string | undefined {
  if (!objectId || !URL.canParse(objectId)) return undefined;
  return configuredKeyVaultOf(objectId, keyVaults)?.name ?? azureKeyVaultNameOf(objectId);
}

/**
 * One event as the Functions Event Grid trigger hands it over: an Event Grid schema object,
 * or a CloudEvents object when the subscription delivers CloudEvents.
 */
export function safeDecodeKeyVaultDelivery(
  raw: unknown,
  context: KeyVaultDecodeContext,
): ParseResult<Decoded> {
  if (!isRecord(raw)) return fail('an Event Grid trigger invocation carries one event object');
  if (looksLikeCloudEvent(raw)) {
    const events = safeParseCloudEvents(raw, CLOUDEVENTS_MEDIA_TYPE);
    return events.success
      ? safeDecodeKeyVaultEvent(envelopeFromCloudEvent(events.data[0]!), context)
      : events;
  }
  const events = safeParseEventGridEvents(raw);
  return events.success ? safeDecodeKeyVaultEvent(envelopeFromEventGrid(events.data[0]!), context) : events;
}
