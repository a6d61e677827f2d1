import type { TableClient } from '@azure/data-tables';
import type { Config } from '../config.js';
import { ConfigError, RotorError } from '../errors.js';
import { isTableNotFound, needsFreshClient } from './table-errors.js';

/**
 * Table clients for rotor's state, by logical name. Azurite locally (connection string,
 * allowInsecureConnection for its http endpoint), managed identity in Azure.
 * A table is created on first use, and again whenever it turns out to be gone: a lost
 * table (storage account recreated, Azurite restarted) must cost one failed call, not every
 * delivery until the process restarts.
 * The SDKs load then too, not at start.
 */
export class Tables {
  private readonly clients = new Map<string, Promise<TableClient>>();

  constructor(private readonly state: Config['state']) {}

  get(logicalName: string): Promise<TableClient> {
    const tableName = this.tableName(logicalName);
    let client = this.clients.get(tableName);
    if (!client) {
      client = this.create(tableName);
      this.clients.set(tableName, client);
      client.catch(() => this.forget(logicalName, client));
    }
    return client;
  }

  /**
   * Runs `operation` on the table's client. When the table is gone it is created again and
   * the operation runs once more; when the store refused the credentials or did not answer,
   * the cached client is dropped so the next call starts from a new one.
   */
  async run<T>(logicalName: string, operation: (client: TableClient) => Promise<T>): Promise<T> {
    const client = this.get(logicalName);
    try {
      return await operation(await client);
    } catch (error) {
      if (isTableNotFound(error)) {
        this.forget(logicalName, client);
        return operation(await this.get(logicalName));
      }
      if (needsFreshClient(error)) this.forget(logicalName, client);
      throw error;
    }
  }

  /** Drops the cached client, unless another call already replaced it. */
  private forget(logicalName: string, client: Promise<TableClient> | undefined): void {
    const tableName = this.tableName(logicalName);
    if (this.clients.get(tableName) === client) this.clients.delete(tableName);
  }

  private tableName(logicalName: string): string {
    return `${this.state.tablePrefix}${logicalName}`;
  }

  private async create(tableName: string): Promise<TableClient> {
    const { TableClient } = await import('@azure/data-tables');
    let client: TableClient;
    const connectionString = this.state.connectionString?.reveal();
    if (connectionString) {
      const insecure = /UseDevelopmentStorage=true|127\.0\.0\.1|localhost/i.test(connectionString);
      client = TableClient.fromConnectionString(connectionString, tableName, {
        allowInsecureConnection: insecure,
      });
    } else if (this.state.accountUrl) {
      const { DefaultAzureCredential } = await import('@azure/identity');
      client = new TableClient(this.state.accountUrl, tableName, new DefaultAzureCredential());
    } else {
      throw new ConfigError([
        'state: set ROTOR_STATE_CONNECTION_STRING, ROTOR_STATE_ACCOUNT_URL or AzureWebJobsStorage',
      ]);
    }
    try {
      await client.createTable();
    } catch (error) {
      throw new RotorError(
        'state_unavailable',
        `cannot create or reach table ${tableName}: ${causeText(error)}`,
        true,
        { cause: error },
      );
    }
    return client;
  }
}

/** The underlying error's first line, so a 503 says why (refused, throttled, being deleted). */
export function causeText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0]?.trim() || 'no detail';
  return first.length > 200 ? `${first.slice(0, 200)}...` : first;
}
