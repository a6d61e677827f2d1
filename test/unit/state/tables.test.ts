import { describe, expect, it } from 'vitest';
import { Redacted } from '../../../lib/redacted.js';
import { Tables } from '../../../lib/state/tables.js';

describe('state tables', () => {
  it('a store that cannot be reached says why (the 503 a sender sees carries the cause)', async () => {
    const tables = new Tables({
      connectionString: new Redacted(
        'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;',
      ),
      tablePrefix: 'rotor',
      inProgressExpiryMs: 120_000,
      retentionHours: 48,
    });

    const error = await tables.get('idempotency').catch((e: unknown) => e as Error);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^cannot create or reach table \S+: .*ECONNREFUSED/);
  }, 60_000);
});
