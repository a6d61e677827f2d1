import { TableClient } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { testEnv, uniqueName } from '../../env/index.js';

describe('Azurite table service', () => {
  it('creates a table, upserts and reads back an entity', async () => {
    const table = `t${uniqueName('env').replaceAll('-', '')}`.slice(0, 63);
    const client = TableClient.fromConnectionString(testEnv().azurite.tableConnectionString, table, {
      allowInsecureConnection: true,
    });

    await client.createTable();
    await client.upsertEntity({ partitionKey: 'p', rowKey: 'r', count: 1 });
    await client.upsertEntity({ partitionKey: 'p', rowKey: 'r', count: 2 }, 'Replace');
    const entity = await client.getEntity<{ count: number }>('p', 'r');

    expect(entity.count).toBe(2);
  });

  it('rejects a conditional create of an entity that exists (what idempotency relies on)', async () => {
    const table = `t${uniqueName('cond').replaceAll('-', '')}`.slice(0, 63);
    const client = TableClient.fromConnectionString(testEnv().azurite.tableConnectionString, table, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    await client.createEntity({ partitionKey: 'p', rowKey: 'once' });

    await expect(client.createEntity({ partitionKey: 'p', rowKey: 'once' })).rejects.toMatchObject({
      statusCode: 409,
    });
  });
});
