/**
 * A small client of the Ray Jobs REST API (the Ray dashboard, default port 8265):
 * submit, status, logs, stop. See https://docs.ray.io/en/latest/cluster/running-applications/job-submission/rest.html
 *
 * It uses node:http, not fetch: the dashboard refuses POST from anything that looks like a browser,
 * and undici's fetch always sends `Sec-Fetch-Mode`, which it takes for one
 * ("'POST' method not allowed for browser traffic").
 */
import http from 'node:http';
import https from 'node:https';

export type RayJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

/** The fields of Ray's JobDetails this backend reads. */
export interface RayJobInfo {
  submission_id: string;
  status: RayJobStatus;
  entrypoint: string;
  message: string | null;
  /** e.g. JOB_ENTRYPOINT_COMMAND_ERROR, JOB_SUPERVISOR_ACTOR_DIED, RUNTIME_ENV_SETUP_FAILURE (Ray ≥ 2.9). */
  error_type: string | null;
  /** The entrypoint's exit code; negative when a signal killed it (Ray ≥ 2.10). */
  driver_exit_code: number | null;
  metadata: Record<string, string> | null;
  start_time: number | null;
  end_time: number | null;
}

export interface RaySubmitRequest {
  entrypoint: string;
  submission_id: string;
  runtime_env?: Record<string, unknown>;
  metadata?: Record<string, string>;
  entrypoint_num_cpus?: number;
  entrypoint_num_gpus?: number;
  entrypoint_memory?: number;
}

/** The dashboard could not be reached, or answered with a server error: the caller may try again. */
export class RayUnavailableError extends Error {
  override readonly name = 'RayUnavailableError';
}

/** The dashboard refused a request (4xx other than 404): retrying the same request would not help. */
export class RayRequestError extends Error {
  override readonly name = 'RayRequestError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export const TERMINAL_STATUSES: readonly RayJobStatus[] = ['STOPPED', 'SUCCEEDED', 'FAILED'];

export class RayJobsClient {
  readonly address: string;

  constructor(
    address: string,
    private readonly options: { requestTimeoutMs?: number } = {},
  ) {
    this.address = address.replace(/\/+$/, '');
  }

  /**
   * Submits a job. Returns 'exists' when a job with this submission id is already known to the
   * head (Ray answers 500 with "already exists" then), which makes a repeated submit harmless.
   */
  async submit(request: RaySubmitRequest): Promise<'submitted' | 'exists'> {
    const res = await this.request('POST', '/api/jobs/', request);
    if (res.status === 200) return 'submitted';
    if (/already exists/i.test(res.body)) return 'exists';
    throw this.failure('POST /api/jobs/', res);
  }

  /** The job, or undefined when the head does not know it (404). */
  async job(submissionId: string): Promise<RayJobInfo | undefined> {
    const res = await this.request('GET', `/api/jobs/${encodeURIComponent(submissionId)}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.failure(`GET /api/jobs/${submissionId}`, res);
    return JSON.parse(res.body) as RayJobInfo;
  }

  /** Every job the head knows (to find a run's jobs by their metadata). */
  async jobs(): Promise<RayJobInfo[]> {
    const res = await this.request('GET', '/api/jobs/');
    if (res.status !== 200) throw this.failure('GET /api/jobs/', res);
    return JSON.parse(res.body) as RayJobInfo[];
  }

  /** The job's whole log so far (the entrypoint's stdout and stderr, interleaved); undefined on 404. */
  async logs(submissionId: string): Promise<string | undefined> {
    const res = await this.request('GET', `/api/jobs/${encodeURIComponent(submissionId)}/logs`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.failure(`GET /api/jobs/${submissionId}/logs`, res);
    return (JSON.parse(res.body) as { logs: string }).logs;
  }

  /** Asks Ray to stop the job (SIGTERM to the entrypoint's process group, SIGKILL after RAY_JOB_STOP_WAIT_TIME_S). */
  async stop(submissionId: string): Promise<boolean> {
    const res = await this.request('POST', `/api/jobs/${encodeURIComponent(submissionId)}/stop`);
    if (res.status === 404) return false;
    if (res.status !== 200) throw this.failure(`POST /api/jobs/${submissionId}/stop`, res);
    return (JSON.parse(res.body) as { stopped: boolean }).stopped;
  }

  private failure(what: string, res: { status: number; body: string }): Error {
    const detail = lastLine(res.body);
    const message = `Ray Jobs API at ${this.address}: ${what} answered ${res.status}${detail ? `: ${detail}` : ''}`;
    return res.status >= 500 ? new RayUnavailableError(message) : new RayRequestError(message, res.status);
  }

  private request(method: 'GET' | 'POST', pathname: string, body?: unknown): Promise<{ status: number; body: string }> {
    const url = new URL(pathname, `${this.address}/`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method,
          headers: { accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
          timeout: this.options.requestTimeoutMs ?? 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => reject(new RayUnavailableError(`Ray Jobs API at ${this.address}: ${method} ${pathname}: ${err.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.requestTimeoutMs ?? 15_000} ms`)));
      req.on('error', (err) => reject(new RayUnavailableError(`Ray Jobs API at ${this.address}: ${method} ${pathname}: ${err.message}`)));
      req.end(payload);
    });
  }
}

/** The last non-empty line of an error body (Ray answers with a Python traceback). */
function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && l !== '.')
      .at(-1)
      ?.slice(0, 500) ?? ''
  );
}
