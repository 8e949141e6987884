import type { Client } from '@temporalio/client';
import type { TemporalTarget } from '../runtime/connection.js';

/**
 * Connects a Temporal client, hands it to `use` and always closes its connection, whether `use`
 * returns or throws (the error goes on unchanged, so the CLI maps it to its exit code as before).
 * The CLI's commands connect with a short timeout, so "no server" is answered quickly; the target
 * defaults to the environment's (TEMPORAL_ADDRESS, the envconfig profile).
 */
export async function withClient<T>(use: (client: Client) => Promise<T>, options: { target?: TemporalTarget; connectTimeout?: string } = {}): Promise<T> {
  // Loaded on use, not at every start (see main.ts).
  const { connectClient } = await import('../runtime/connection.js');
  const client = await connectClient(options.target, options.connectTimeout ?? '4s');
  try {
    return await use(client);
  } finally {
    await client.connection.close();
  }
}
