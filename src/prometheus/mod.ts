/**
 * `socksync/prometheus`: a hub's metrics (see `HubOptions.metrics`) in a
 * `prom-client` registry, next to the application's own, in one line.
 * `prom-client` is an optional peer dependency: install it to use this entry.
 *
 * ```ts
 * import { Hub } from "socksync";
 * import { registerMetrics } from "socksync/prometheus";
 * const hub = new Hub({ metrics: true });
 * const registry = await registerMetrics(hub); // prom-client's default registry
 * // app.get("/metrics", async (c) => c.text(await registry.metrics()));
 * ```
 *
 * @module
 */
import type * as Prom from "prom-client";
import type { Histogram, Metrics } from "../peer/metrics.ts";

export {
  DURATION_BUCKETS,
  Histogram,
  Metrics,
  type SlowConsumerAction,
  type SubscriptionType,
} from "../peer/metrics.ts";

/**
 * Options of {@linkcode registerMetrics}.
 *
 * @example
 * ```ts
 * import type { RegisterOptions } from "./mod.ts";
 * const options: RegisterOptions = { defaultMetrics: false };
 * ```
 */
export interface RegisterOptions {
  /** The registry to register with. Default: prom-client's global `register`. */
  registry?: Prom.Registry;
  /**
   * Also register prom-client's process and runtime metrics (CPU, memory,
   * event loop lag…) where the runtime supports them. Default: `true`.
   */
  defaultMetrics?: boolean;
}

/**
 * Registers every `socksync_*` metric of `hub` with a prom-client registry
 * and returns that registry. Values are read from the hub when the registry
 * is scraped: nothing is pushed to prom-client on the hot paths. Rejects
 * with an error naming the install command when `prom-client` is missing,
 * and with a `TypeError` when the hub was made without `metrics`.
 *
 * @example
 * ```ts
 * import { Hub } from "../../mod.ts";
 * import { registerMetrics } from "./mod.ts";
 * const hub = new Hub({ metrics: true });
 * const registry = await registerMetrics(hub);
 * const text = await registry.metrics(); // Prometheus text format
 * ```
 */
export async function registerMetrics(
  hub: { readonly metrics?: Metrics },
  options: RegisterOptions = {},
): Promise<Prom.Registry> {
  const metrics = hub.metrics;
  if (metrics === undefined) {
    throw new TypeError(
      "socksync/prometheus: the hub keeps no metrics (new Hub({ metrics: true }))",
    );
  }
  const prom = await loadPromClient();
  const registry = options.registry ?? prom.register;
  const registers = [registry];
  if (options.defaultMetrics !== false) registerDefaults(prom, registry);

  const gauge = (name: string, help: string, labelNames: string[], read: (g: Prom.Gauge) => void) =>
    new prom.Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read(this);
      },
    });
  const counter = (
    name: string,
    help: string,
    labelNames: string[],
    read: (inc: (labels: Prom.LabelValues<string>, value: number) => void) => void,
  ) =>
    new prom.Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, value) => this.inc(labels, value));
      },
    });

  gauge(
    "socksync_connections",
    "Open WebSocket connections.",
    [],
    (g) => g.set(metrics.connections),
  );
  counter("socksync_connections_opened_total", "Connections opened.", [], (inc) => {
    inc({}, metrics.connectionsOpened);
  });
  counter(
    "socksync_connections_closed_total",
    "Connections closed, by close code.",
    ["code"],
    (inc) => {
      for (const [code, n] of metrics.connectionsClosed) inc({ code: String(code) }, n);
    },
  );
  gauge("socksync_subscriptions", "Subscriptions held, by type.", ["type"], (g) => {
    for (const [type, n] of Object.entries(metrics.subscriptions)) g.set({ type }, n);
  });
  counter("socksync_frames_received_total", "Frames received.", [], (inc) => {
    inc({}, metrics.framesReceived);
  });
  counter("socksync_frames_sent_total", "Frames sent.", [], (inc) => inc({}, metrics.framesSent));
  counter("socksync_bytes_sent_total", "UTF-8 bytes of the frames sent.", [], (inc) => {
    inc({}, metrics.bytesSent);
  });
  counter("socksync_errors_sent_total", "Error frames sent, by error code.", ["code"], (inc) => {
    for (const [code, n] of metrics.errorsSent) inc({ code: String(code) }, n);
  });
  counter(
    "socksync_calls_total",
    "Calls answered, by function and outcome (ok or the error code).",
    ["function", "outcome"],
    (inc) => {
      for (const [fn, outcomes] of metrics.calls) {
        for (const [outcome, n] of outcomes) inc({ function: fn, outcome }, n);
      }
    },
  );
  counter(
    "socksync_slow_consumer_total",
    "Slow-consumer handling, by action (left_topic, conflated, closed).",
    ["action"],
    (inc) => {
      for (const [action, n] of Object.entries(metrics.slowConsumer)) inc({ action }, n);
    },
  );
  histogram(prom, registry, {
    name: "socksync_call_duration_seconds",
    help: "Call durations, by function.",
    labelNames: ["function"],
    read: () => [...metrics.callDurations].map(([fn, h]) => [{ function: fn }, h]),
  });
  histogram(prom, registry, {
    name: "socksync_store_operation_duration_seconds",
    help: "Store operation durations, by store and operation.",
    labelNames: ["store", "operation"],
    read: () =>
      [...metrics.storeOperations].flatMap(([store, ops]) =>
        [...ops].map(([operation, h]) => [{ store, operation }, h] as const)
      ),
  });
  histogram(prom, registry, {
    name: "socksync_feed_lag_seconds",
    help: "From a store's change feed reporting a change to its frames sent.",
    labelNames: [],
    read: () => [[{}, metrics.feedLag]],
  });
  return registry;
}

type PromClient = typeof Prom;

async function loadPromClient(): Promise<PromClient> {
  try {
    const loaded = await import("prom-client") as PromClient & { default?: PromClient };
    return loaded.default ?? loaded;
  } catch (cause) {
    throw missingPromClient(cause);
  }
}

/**
 * The error for a missing `prom-client`: it names this entry, the package
 * and the command that installs it, and keeps the loader's error as `cause`.
 *
 * @example
 * ```ts
 * import { missingPromClient } from "./mod.ts";
 * missingPromClient(new Error("not found")).message.startsWith("socksync/prometheus needs");
 * ```
 */
export function missingPromClient(cause: unknown): Error {
  const runtime = globalThis as { Deno?: unknown; Bun?: unknown };
  const install = runtime.Bun !== undefined
    ? "bun add prom-client"
    : runtime.Deno !== undefined
    ? "deno add npm:prom-client"
    : "npm install prom-client";
  const why = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0];
  const error = new Error(
    `socksync/prometheus needs the prom-client package: ${install} (loading it failed: ${why})`,
    { cause },
  );
  error.name = "MissingDriverError";
  return error;
}

// prom-client's process metrics, once per registry; a runtime lacking one of their probes
// gets the rest (each is registered on its own inside prom-client, so a throw stops at it).
const withDefaults = new WeakSet<Prom.Registry>();

function registerDefaults(prom: PromClient, registry: Prom.Registry): void {
  if (withDefaults.has(registry)) return;
  withDefaults.add(registry);
  try {
    prom.collectDefaultMetrics({ register: registry });
  } catch {
    // A runtime without the probes prom-client needs: the socksync metrics still work.
  }
}

type Labels = Record<string, string>;

/**
 * A histogram whose buckets are the hub's own (see {@linkcode Histogram}):
 * a prom-client `Histogram` whose values are read from the hub at scrape
 * time instead of observed into it.
 */
function histogram(
  prom: PromClient,
  registry: Prom.Registry,
  spec: {
    name: string;
    help: string;
    labelNames: string[];
    read: () => (readonly [Labels, Histogram])[];
  },
): void {
  const metric = new prom.Histogram({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames,
    registers: [],
  });
  const collect = () => {
    const out: { labels: Labels; value: number; metricName: string }[] = [];
    for (const [labels, h] of spec.read()) {
      let cumulative = 0;
      h.bounds.forEach((bound, i) => {
        cumulative += h.counts[i];
        out.push({
          labels: { ...labels, le: String(bound) },
          value: cumulative,
          metricName: `${spec.name}_bucket`,
        });
      });
      out.push({
        labels: { ...labels, le: "+Inf" },
        value: h.count,
        metricName: `${spec.name}_bucket`,
      });
      out.push({ labels, value: h.sum, metricName: `${spec.name}_sum` });
      out.push({ labels, value: h.count, metricName: `${spec.name}_count` });
    }
    return {
      name: spec.name,
      help: spec.help,
      type: "histogram" as const,
      values: out,
      aggregator: "sum" as const,
    };
  };
  const read = () => Promise.resolve(collect());
  Object.assign(metric, { get: read, getForPromString: read });
  registry.registerMetric(metric);
}
