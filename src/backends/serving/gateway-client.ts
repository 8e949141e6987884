import type { LiveComparison } from '../../activities/contracts.js';

/**
 * The serving backend as the rollout sees it: the project's inference gateway driven over its
 * control plane (bearer token). Adapters for KServe or SageMaker variant weights implement the
 * same interface.
 */
export interface ServingBackend {
  deployChampion(model: string, input: { version: number; artifactUri: string }): Promise<void>;
  deployChallenger(model: string, input: { version: number; artifactUri: string; weight: number; shadow?: boolean }): Promise<void>;
  setWeight(model: string, weight: number): Promise<void>;
  /** Promotes `version` (the challenger); already the champion with no challenger left is success, so a retry is harmless. */
  promote(model: string, version: number): Promise<void>;
  rollback(model: string): Promise<void>;
  liveMetrics(model: string, since: Date): Promise<LiveComparison>;
}

export class ServingError extends Error {
  override readonly name = 'ServingError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
  /** 4xx means the request itself is wrong (retrying cannot help); 5xx and network errors may pass. */
  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

export class GatewayClient implements ServingBackend {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 15_000,
  ) {}

  deployChampion(model: string, input: { version: number; artifactUri: string }): Promise<void> {
    return this.call('PUT', `/v1/admin/models/${encodeURIComponent(model)}/champion`, input);
  }
  deployChallenger(model: string, input: { version: number; artifactUri: string; weight: number; shadow?: boolean }): Promise<void> {
    return this.call('PUT', `/v1/admin/models/${encodeURIComponent(model)}/challenger`, input);
  }
  setWeight(model: string, weight: number): Promise<void> {
    return this.call('PUT', `/v1/admin/models/${encodeURIComponent(model)}/traffic`, { weight });
  }
  promote(model: string, version: number): Promise<void> {
    return this.call('POST', `/v1/admin/models/${encodeURIComponent(model)}/promote`, { version });
  }
  rollback(model: string): Promise<void> {
    return this.call('POST', `/v1/admin/models/${encodeURIComponent(model)}/rollback`, {});
  }
  liveMetrics(model: string, since: Date): Promise<LiveComparison> {
    return this.call('GET', `/v1/admin/models/${encodeURIComponent(model)}/live-metrics?since=${encodeURIComponent(since.toISOString())}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new ServingError(`gateway ${this.baseUrl} unreachable: ${(err as Error).message}`, 0);
    }
    const text = await response.text();
    if (!response.ok) throw new ServingError(`gateway ${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`, response.status);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}
