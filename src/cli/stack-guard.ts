import path from 'node:path';
import type { ConnectionLike } from '@temporalio/client';

/**
 * One data directory per `npm run dev` stack. `dev` records the data directory it serves in its
 * own server's namespace (namespace data, a Temporal-native key/value on the namespace), and a
 * worker that connects to a server it did not start (`retrain worker`, or `dev` with
 * TEMPORAL_ADDRESS) checks it first: a worker with another data directory would take that stack's
 * scheduled checks and runs and carry them out on other data (its own empty lake and registry).
 * A namespace no dev stack recorded (a cluster, Temporal Cloud) is never refused: there, workers on
 * several hosts share a lake in object storage and their local directories differ by design.
 */
export const DEV_DATA_DIR_KEY = 'retrain-dev-data-dir';

/** `dev` marks its own server's namespace with the data directory it serves. */
export async function recordDevDataDir(connection: ConnectionLike, namespace: string, dataDir: string): Promise<void> {
  await connection.workflowService.updateNamespace({ namespace, updateInfo: { data: { [DEV_DATA_DIR_KEY]: path.resolve(dataDir) } } });
}

/** The data directory of the dev stack whose server this is, if a dev stack recorded one. */
export async function devDataDirOf(connection: ConnectionLike, namespace: string): Promise<string | undefined> {
  const described = await connection.workflowService.describeNamespace({ namespace });
  return described.namespaceInfo?.data?.[DEV_DATA_DIR_KEY] || undefined;
}

/** The refusal for a worker about to join another data directory's dev stack; undefined when it may join. */
export async function joinProblem(connection: ConnectionLike, target: { address: string; namespace: string }, dataDir: string): Promise<string | undefined> {
  const owner = await devDataDirOf(connection, target.namespace);
  if (!owner || owner === path.resolve(dataDir)) return undefined;
  return (
    `the Temporal server at ${target.address} (namespace ${target.namespace}) is the \`npm run dev\` stack of ${owner}, and this process's data directory is ${path.resolve(dataDir)}: ` +
    `its worker would take that stack's checks and runs and carry them out on other data. Set RETRAIN_DATA_DIR=${owner} to join that stack, or unset TEMPORAL_ADDRESS to start one of your own`
  );
}
