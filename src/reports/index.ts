/**
 * Self-contained HTML reports (pure rendering plus file storage, no Temporal code): the drift check
 * report of each monitor check and the report of each retraining run. Charts are Vega-Lite specs
 * rendered to static SVG at write time; pages carry inline CSS and no scripts or URLs.
 */
export { renderCheckReport, insufficientReasons, driftRule, type CheckReportInput } from './check-report.js';
export { renderPipelineReport, canarySteps, type CanaryAnalysis, type CanaryStep, type PipelineReportInput } from './pipeline-report.js';
export { historyPointFromCheck, isHistoryPoint, type CheckHistoryPoint } from './history.js';
export { ReportStore, ReportPathError, fileTimestamp, writeAtomic, type ReportStoreOptions } from './store.js';
export { renderSvg, binLabels } from './charts.js';
export { escapeHtml } from './html.js';
