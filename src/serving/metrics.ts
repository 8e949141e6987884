import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { LogTable } from './lake-sink.js';

/**
 * The gateway's Prometheus metrics, on a registry of its own (several gateways in one test
 * process must not collide). The two per-prediction metrics (requests, latency) are plain
 * counters behind custom collectors: prom-client's labelled `inc`/`observe` validate and hash
 * the labels on every call, which cost more than the rest of the bookkeeping of a prediction
 * together. Everything else uses prom-client as it is.
 */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface CounterCell {
  labels: Record<string, string>;
  value: number;
}

interface HistogramCell {
  labels: Record<string, string>;
  counts: Float64Array;
  sum: number;
  count: number;
}

type MetricValue = { value: number; labels: Record<string, string | number>; metricName?: string };

/** A metric object as Registry.registerMetric expects it: name, help, type and get(). */
function customMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) {
  return {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
    reset: () => undefined,
  };
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requestCells = new Map<string, CounterCell>();
  private readonly latencyCells = new Map<string, HistogramCell>();
  private readonly rowsLogged: Counter<'model' | 'table'>;
  private readonly flushFailures: Counter<'model' | 'table'>;
  private readonly rowsDropped: Counter<'model' | 'table' | 'reason'>;
  private readonly feedback: Counter<'model' | 'matched'>;

  constructor(pending: () => Array<{ model: string; table: LogTable; rows: number }>, defaults = true) {
    const registers = [this.registry];
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'retrain_gateway_' });
    this.registry.registerMetric(
      customMetric('retrain_gateway_requests_total', 'Predictions answered (one per instance of a batch), by model, variant (none when refused before routing) and HTTP status', 'counter', () =>
        [...this.requestCells.values()].map((c) => ({ value: c.value, labels: c.labels })),
      ) as never,
    );
    this.registry.registerMetric(
      customMetric('retrain_gateway_prediction_latency_seconds', 'Time to validate, route and score a predict request (shadow scoring measured separately)', 'histogram', () =>
        [...this.latencyCells.values()].flatMap((c) => {
          const out: MetricValue[] = [];
          let cumulative = 0;
          LATENCY_BUCKETS.forEach((le, i) => {
            cumulative += c.counts[i];
            out.push({ metricName: 'retrain_gateway_prediction_latency_seconds_bucket', value: cumulative, labels: { le, ...c.labels } });
          });
          out.push({ metricName: 'retrain_gateway_prediction_latency_seconds_bucket', value: c.count, labels: { le: '+Inf', ...c.labels } });
          out.push({ metricName: 'retrain_gateway_prediction_latency_seconds_sum', value: c.sum, labels: c.labels });
          out.push({ metricName: 'retrain_gateway_prediction_latency_seconds_count', value: c.count, labels: c.labels });
          return out;
        }),
      ) as never,
    );
    this.rowsLogged = new Counter({ name: 'retrain_gateway_lake_rows_logged_total', help: 'Rows written to the lake', labelNames: ['model', 'table'], registers });
    new Gauge({
      name: 'retrain_gateway_lake_rows_pending',
      help: 'Rows queued or being written to the lake',
      labelNames: ['model', 'table'],
      registers,
      collect() {
        this.reset();
        for (const p of pending()) this.set({ model: p.model, table: p.table }, p.rows);
      },
    });
    this.flushFailures = new Counter({
      name: 'retrain_gateway_lake_flush_failures_total',
      help: 'Lake writes that failed (each is retried; see rows_dropped for rows given up on)',
      labelNames: ['model', 'table'],
      registers,
    });
    this.rowsDropped = new Counter({
      name: 'retrain_gateway_lake_rows_dropped_total',
      help: 'Rows not written to the lake: dead_letter (saved to a file) or overflow (queue full while the lake was down)',
      labelNames: ['model', 'table', 'reason'],
      registers,
    });
    this.feedback = new Counter({
      name: 'retrain_gateway_feedback_total',
      help: 'Labels received, by whether this gateway served the request (matched) or not (unmatched)',
      labelNames: ['model', 'matched'],
      registers,
    });
  }

  request(model: string, variant: string, status: number, n = 1): void {
    const key = `${model}\u0000${variant}\u0000${status}`;
    let c = this.requestCells.get(key);
    if (!c) this.requestCells.set(key, (c = { labels: { model, variant, status: String(status) }, value: 0 }));
    c.value += n;
  }

  observeLatency(model: string, variant: string, ms: number): void {
    const key = `${model}\u0000${variant}`;
    let h = this.latencyCells.get(key);
    if (!h) this.latencyCells.set(key, (h = { labels: { model, variant }, counts: new Float64Array(LATENCY_BUCKETS.length), sum: 0, count: 0 }));
    const seconds = ms / 1000;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]) {
        h.counts[i]++;
        break;
      }
    }
    h.sum += seconds;
    h.count++;
  }

  logged(model: string, table: LogTable, rows: number): void {
    this.rowsLogged.labels(model, table).inc(rows);
  }

  flushFailed(model: string, table: LogTable): void {
    this.flushFailures.labels(model, table).inc();
  }

  dropped(model: string, table: LogTable, rows: number, reason: string): void {
    this.rowsDropped.labels(model, table, reason).inc(rows);
  }

  feedbackReceived(model: string, matched: number, unmatched: number): void {
    if (matched) this.feedback.labels(model, 'true').inc(matched);
    if (unmatched) this.feedback.labels(model, 'false').inc(unmatched);
  }
}
