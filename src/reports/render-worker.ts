import { parentPort } from 'node:worker_threads';
import { renderCheckReport } from './check-report.js';
import { renderPipelineReport } from './pipeline-report.js';
import type { RenderRequest, RenderResponse } from './render-thread.js';

// The report renderer's thread: Vega layout and SVG serialisation are CPU-heavy (~100 ms a chart
// under load), so they run here, never on the worker's event loop that delivers workflow tasks.
parentPort!.on('message', (request: RenderRequest) => {
  const rendering = request.kind === 'check' ? renderCheckReport(request.input) : renderPipelineReport(request.input);
  rendering.then(
    (html) => parentPort!.postMessage({ id: request.id, html } satisfies RenderResponse),
    (err: unknown) => parentPort!.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) } satisfies RenderResponse),
  );
});
