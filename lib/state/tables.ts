import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import type { Config } from '../config.js';
import { ConfigError, RotorError } from '../errors.js';

/**
 * Table clients for rotor's state, by logical name. Azurite locally (connection string,
 * allowInsecureConnection for its http endpoint), managed identity in Azure.
 * Tables are created once per process on first use.
 */
export class Tables {
  private readonly clients = new Map<string, Promise<TableClient>>();

  constructor(private readonly state: Config['state']) {}

  get(logicalName: string): Promise<TableClient> {
    const tableName = `${this.state.tablePrefix}${logicalName}`;
    let client = this.clients.get(tableName);
    if (!client) {
      client = this.create(tableName);
      this.clients.set(tableName, client);
      client.catch(() => this.clients.delete(tableName));
    }
    return client;
  }

  private async create(tableName: string): Promise<TableClient> {
    let client: TableClient;
    if (this.state.connectionString) {
      const insecure = /UseDevelopmentStorage=true|127\.0\.0\.1|localhost/i.test(this.state.connectionString);
      client = TableClient.fromConnectionString(this.state.connectionString, tableName, {
        allowInsecureConnection: insecure,
      });
    } else if (this.state.accountUrl) {
      client = new TableClient(this.state.accountUrl, tableName, new DefaultAzureCredential());
    } else {
      throw new ConfigError([
        'state: set ROTOR_STATE_CONNECTION_STRING, ROTOR_STATE_ACCOUNT_URL or AzureWebJobsStorage',
      ]);
    }
    try {
      await client.createTable();
    } catch (error) {
      throw new RotorError('state_unavailable', `cannot create or reach table ${tableName}`, true, {
        cause: error,
      });
    }
    return client;
  }
}
