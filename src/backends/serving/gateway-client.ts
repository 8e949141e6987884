import type { LiveComparison } from '../../domain/canary.js';
import type { SyntheticAnswer } from '../../domain/pre-traffic.js';

/** Synthetic requests scored by one named variant, outside the traffic split (the pre-traffic checks). */
export interface SyntheticScoring {
  variant: 'champion' | 'challenger';
  version: number;
  instances: Array<{ features: Record<string, number | string | null> }>;
}

/**
 * The serving backend as the rollout sees it: the project's inference gateway driven over its
 * control plane (bearer token). Adapters for KServe or SageMaker variant weights implement the
 * same interface.
 */
export interface ServingBackend {
  deployChampion(model: string, input: { version: number; artifactUri: string }): Promise<void>;
  deployChallenger(model: string, input: { version: number; artifactUri: string; weight: number; shadow?: boolean }): Promise<void>;
  /** Promotes `version` (the challenger); already the champion with no challenger left is success, so a retry is harmless. */
  promote(model: string, version: number): Promise<void>;
  rollback(model: string): Promise<void>;
  /** Serves the learner's online copy of the champion (learning: online | hybrid); the same copy again is a no-op. */
  setOnline(model: string, input: { version: string; artifactUri: string; sha256: string }): Promise<void>;
  /** Back to the batch champion alone; nothing to clear is success. */
  clearOnline(model: string): Promise<void>;
  liveMetrics(model: string, since: Date): Promise<LiveComparison>;
  /**
   * Scores `instances` with the named variant alone, each validated and scored on its own; nothing
   * is logged as traffic. Answers in request order.
   */
  scoreSynthetic(model: string, input: SyntheticScoring, rowBudgetMs?: number): Promise<SyntheticAnswer[]>;
}

export class ServingError extends Error {
  override readonly name = 'ServingError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
  /** The gateway took longer than the client's timeout to answer. */
  timedOut = false;
  /** 4xx means the request itself is wrong (retrying cannot help); 5xx and network errors may pass. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

const SYNTHETIC_CHUNK = 50;

export class GatewayClient implements ServingBackend {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 15_000,
  ) {}

  deployChampion(model: string, input: { version: number; artifactUri: string }): Promise<void> {
    return this.change('PUT', `/v1/admin/models/${encodeURIComponent(model)}/champion`, input);
  }
  deployChallenger(model: string, input: { version: number; artifactUri: string; weight: number; shadow?: boolean }): Promise<void> {
    return this.change('PUT', `/v1/admin/models/${encodeURIComponent(model)}/challenger`, input);
  }
  promote(model: string, version: number): Promise<void> {
    return this.change('POST', `/v1/admin/models/${encodeURIComponent(model)}/promote`, { version });
  }
  rollback(model: string): Promise<void> {
    return this.change('POST', `/v1/admin/models/${encodeURIComponent(model)}/rollback`, {});
  }
  setOnline(model: string, input: { version: string; artifactUri: string; sha256: string }): Promise<void> {
    return this.change('PUT', `/v1/admin/models/${encodeURIComponent(model)}/online`, input);
  }
  clearOnline(model: string): Promise<void> {
    return this.change('DELETE', `/v1/admin/models/${encodeURIComponent(model)}/online`);
  }
  liveMetrics(model: string, since: Date): Promise<LiveComparison> {
    return this.call('GET', `/v1/admin/models/${encodeURIComponent(model)}/live-metrics?since=${encodeURIComponent(since.toISOString())}`);
  }

  /**
   * In chunks of SYNTHETIC_CHUNK rows, each given time for every row to take up to `rowBudgetMs`
   * four times over; a row slower than the budget is timed once more by the gateway (the faster counts).
   */
  async scoreSynthetic(model: string, input: SyntheticScoring, rowBudgetMs = 250): Promise<SyntheticAnswer[]> {
    const answers: SyntheticAnswer[] = [];
    for (let at = 0; at < input.instances.length; at += SYNTHETIC_CHUNK) {
      const instances = input.instances.slice(at, at + SYNTHETIC_CHUNK);
      const timeoutMs = Math.max(this.timeoutMs, instances.length * rowBudgetMs * 4);
      const reply = await this.call<{ answers: SyntheticAnswer[] }>('POST', `/v1/admin/models/${encodeURIComponent(model)}/synthetic`, { variant: input.variant, version: input.version, instances, retimeAboveMs: rowBudgetMs }, timeoutMs);
      answers.push(...reply.answers);
    }
    return answers;
  }

  /**
   * A deployment change. Behind replicas sharing a store the gateway answers once every live replica
   * serves it, or names those that do not: that is a retryable failure (the change is saved; the
   * retry is a no-op that waits again), so a run never moves on while part of the fleet serves the
   * old split. A dead replica leaves the live set within its heartbeat window.
   */
  private async change(method: string, path: string, body?: unknown): Promise<void> {
    const answer = await this.call<{ replicas?: { acknowledged: boolean; live: number; lagging: string[] } } | undefined>(method, path, body);
    const replicas = answer?.replicas;
    if (replicas && !replicas.acknowledged) {
      throw new ServingError(`gateway ${method} ${path}: saved, but ${replicas.lagging.length} of ${replicas.live} live replicas do not serve it yet (${replicas.lagging.join(', ')})`, 503);
    }
  }

  private async call<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        const timedOut = new ServingError(`gateway ${this.baseUrl} did not answer ${method} ${path} within ${timeoutMs} ms`, 0);
        timedOut.timedOut = true;
        throw timedOut;
      }
      throw new ServingError(`gateway ${this.baseUrl} unreachable: ${(err as Error).message}`, 0);
    }
    const text = await response.text();
    if (!response.ok) throw new ServingError(`gateway ${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`, response.status);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
