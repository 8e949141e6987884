/**
 * A small client of MLflow's REST API (the tracking server's `/api/2.0/mlflow/...` model registry
 * endpoints and its artifact proxy `/api/2.0/mlflow-artifacts/...`), with fetch: no Python and no
 * MLflow SDK in the product. Only what the MLflow registry backend needs.
 */

export interface MlflowModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  source?: string;
  run_id?: string;
  status?: string;
  tags?: Array<{ key: string; value: string }>;
  aliases?: string[];
}

export interface MlflowRegisteredModel {
  name: string;
  creation_timestamp?: number;
  aliases?: Array<{ alias: string; version: string }>;
}

/** An answer of MLflow other than success: its error code (RESOURCE_DOES_NOT_EXIST, ...) and message. */
export class MlflowApiError extends Error {
  override readonly name = 'MlflowApiError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** No MLflow at that address: nothing answers (refused, timed out, DNS), or something that is not MLflow. */
export class MlflowUnreachableError extends Error {
  override readonly name = 'MlflowUnreachableError';
}

const REQUEST_TIMEOUT_MS = 30_000;

export class MlflowClient {
  readonly base: string;

  constructor(trackingUri: string) {
    this.base = trackingUri.replace(/\/+$/, '');
  }

  /** `GET /health` answers "OK" when the server is up. */
  async health(): Promise<void> {
    const res = await this.send('GET', '/health');
    // Something answers, but not an MLflow server: as much a wrong setting as nothing answering.
    if (!res.ok) throw new MlflowUnreachableError(`MLflow at ${this.base} does not answer: GET /health got ${res.status}; is it an MLflow tracking server?`);
  }

  async getRegisteredModel(name: string): Promise<MlflowRegisteredModel | undefined> {
    try {
      return (await this.api<{ registered_model: MlflowRegisteredModel }>('GET', 'registered-models/get', { name })).registered_model;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Creates the registered model unless it exists (so a retry or a second process is harmless). */
  async ensureRegisteredModel(name: string): Promise<void> {
    try {
      await this.api('POST', 'registered-models/create', { name });
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
  }

  /** Registered models whose names start with `prefix` (every one for ''), all pages. */
  async searchRegisteredModels(prefix: string): Promise<MlflowRegisteredModel[]> {
    const filter = prefix ? `name LIKE '${quote(prefix)}%'` : undefined;
    return this.pages<MlflowRegisteredModel>('registered-models/search', 'registered_models', filter ? { filter } : {});
  }

  /** The experiment's id, creating it when missing (a concurrent creator's is as good). */
  async ensureExperiment(name: string): Promise<string> {
    const get = async () => {
      try {
        return (await this.api<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { experiment_name: name })).experiment.experiment_id;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    };
    const found = await get();
    if (found) return found;
    try {
      return (await this.api<{ experiment_id: string }>('POST', 'experiments/create', { name })).experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
      return (await get()) as string;
    }
  }

  async createRun(experimentId: string, runName: string, tags: Record<string, string>): Promise<MlflowRun> {
    const body = { experiment_id: experimentId, run_name: runName, start_time: Date.now(), tags: tagList(tags) };
    return (await this.api<{ run: { info: MlflowRun } }>('POST', 'runs/create', body)).run.info;
  }

  async finishRun(runId: string): Promise<void> {
    await this.api('POST', 'runs/update', { run_id: runId, status: 'FINISHED', end_time: Date.now() });
  }

  /** Runs of an experiment matching a filter (first page: callers look for one run). */
  async searchRuns(experimentId: string, filter: string): Promise<MlflowRun[]> {
    const page = await this.api<{ runs?: Array<{ info: MlflowRun }> }>('POST', 'runs/search', { experiment_ids: [experimentId], filter, max_results: 10 });
    return (page.runs ?? []).map((r) => r.info);
  }

  async createModelVersion(name: string, source: string, runId: string, tags: Record<string, string>): Promise<MlflowModelVersion> {
    const body = { name, source, run_id: runId, tags: tagList(tags) };
    return (await this.api<{ model_version: MlflowModelVersion }>('POST', 'model-versions/create', body)).model_version;
  }

  async getModelVersion(name: string, version: number): Promise<MlflowModelVersion | undefined> {
    try {
      return (await this.api<{ model_version: MlflowModelVersion }>('GET', 'model-versions/get', { name, version: String(version) })).model_version;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Model versions matching an MLflow filter (`name = 'x'`, ``tags.`k` = 'v'``), all pages. */
  async searchModelVersions(filter: string): Promise<MlflowModelVersion[]> {
    return this.pages<MlflowModelVersion>('model-versions/search', 'model_versions', { filter });
  }

  async setModelVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    await this.api('POST', 'model-versions/set-tag', { name, version: String(version), key, value });
  }

  /** Where the version's files are (its source, resolved by the server: mlflow-artifacts:/..., s3://...). */
  async downloadUri(name: string, version: number): Promise<string> {
    return (await this.api<{ artifact_uri: string }>('GET', 'model-versions/get-download-uri', { name, version: String(version) })).artifact_uri;
  }

  async setAlias(name: string, alias: string, version: number): Promise<void> {
    await this.api('POST', 'registered-models/alias', { name, alias, version: String(version) });
  }

  /** Deletes an alias; one that is already gone is fine (a retried delete). */
  async deleteAlias(name: string, alias: string): Promise<void> {
    try {
      await this.api('DELETE', 'registered-models/alias', { name, alias });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }

  /** Files directly under an artifact directory (relative to the proxy's root), or undefined when it lists nothing. */
  async listArtifacts(dir: string): Promise<Array<{ path: string; is_dir?: boolean }>> {
    const res = await this.send('GET', `/api/2.0/mlflow-artifacts/artifacts?${new URLSearchParams({ path: dir })}`);
    if (!res.ok) throw await apiError(res, `list ${dir}`);
    return ((await res.json()) as { files?: Array<{ path: string; is_dir?: boolean }> }).files ?? [];
  }

  /** The bytes of one artifact, or undefined when there is none at that path. */
  async downloadArtifact(file: string): Promise<Buffer | undefined> {
    const res = await this.send('GET', `/api/2.0/mlflow-artifacts/artifacts/${encodePath(file)}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await apiError(res, `download ${file}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** PUT through the artifact proxy; the same bytes to the same path again changes nothing. */
  async uploadArtifact(file: string, bytes: Uint8Array): Promise<void> {
    const res = await this.send('PUT', `/api/2.0/mlflow-artifacts/artifacts/${encodePath(file)}`, bytes, 'application/octet-stream');
    if (!res.ok) throw await apiError(res, `upload ${file}`);
  }

  private async api<T = unknown>(method: 'GET' | 'POST' | 'DELETE', endpoint: string, params: Record<string, unknown>): Promise<T> {
    // GET takes its parameters in the query; POST and DELETE (alias deletion) in a JSON body.
    const query = method === 'GET' ? `?${new URLSearchParams(params as Record<string, string>)}` : '';
    const res = await this.send(method, `/api/2.0/mlflow/${endpoint}${query}`, method === 'GET' ? undefined : JSON.stringify(params), 'application/json');
    if (!res.ok) throw await apiError(res, `${method} ${endpoint}`);
    return (await res.json()) as T;
  }

  private async pages<T>(endpoint: string, key: string, params: Record<string, string>): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const page = await this.api<Record<string, unknown>>('GET', endpoint, { ...params, max_results: '1000', ...(token ? { page_token: token } : {}) });
      out.push(...((page[key] as T[] | undefined) ?? []));
      token = (page.next_page_token as string | undefined) || undefined;
    } while (token);
    return out;
  }

  private async send(method: string, pathAndQuery: string, body?: string | Uint8Array, contentType?: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(`${this.base}${pathAndQuery}`, {
          method,
          body,
          headers: contentType && body !== undefined ? { 'content-type': contentType } : undefined,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        // A pooled connection the server closed as it was reused: once more on a new one, for the
        // requests that are the same when repeated (GET, PUT of the same bytes, alias DELETE).
        if (attempt === 1 && cause?.code === 'UND_ERR_SOCKET' && method !== 'POST') continue;
        throw new MlflowUnreachableError(`MLflow at ${this.base} does not answer (${cause?.code ?? cause?.message ?? (err as Error).message})`);
      }
    }
  }
}

export interface MlflowRun {
  run_id: string;
  experiment_id: string;
  artifact_uri: string;
  status?: string;
}

const tagList = (tags: Record<string, string>) => Object.entries(tags).map(([key, value]) => ({ key, value }));

export function isMissing(err: unknown): boolean {
  return err instanceof MlflowApiError && (err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.status === 404);
}

async function apiError(res: Response, what: string): Promise<MlflowApiError> {
  const text = await res.text().catch(() => '');
  let code = `HTTP_${res.status}`;
  let message = text.slice(0, 500);
  try {
    const body = JSON.parse(text) as { error_code?: string; message?: string };
    code = body.error_code ?? code;
    message = body.message ?? message;
  } catch {
    // not JSON (a proxy's HTML page): keep the text
  }
  return new MlflowApiError(res.status, code, `MLflow ${what}: ${res.status} ${code}: ${message}`);
}

function quote(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

function encodePath(file: string): string {
  return file.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

export { quote as mlflowQuote };
