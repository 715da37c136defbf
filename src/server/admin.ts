/**
 * The admin view of a hub: a few vars, provided by the hub itself, that a
 * SockSync client (the demo's `/admin/` page) subscribes to. They sum up the
 * hub's {@linkcode Metrics} every second and keep five minutes of history.
 * They live in memory only, never in the hub's var store: each instance
 * shows its own numbers. Who may read them is the hub's `authorize` to say
 * (see {@linkcode isAdminName}).
 *
 * @module
 */
import * as v from "valibot";
import type { Hub } from "./hub.ts";
import { LocalVar } from "./local_var.ts";
import type { Metrics } from "../peer/metrics.ts";

/**
 * The prefix of every admin var's name.
 */
export const ADMIN_PREFIX = "socksync.admin.";

/**
 * Whether a name is one of the admin vars: an `authorize` hook lets only
 * admins reach those.
 */
export function isAdminName(name: string): boolean {
  return name.startsWith(ADMIN_PREFIX);
}

/**
 * The admin vars' values (`socksync.admin.overview`, `.series`, `.groups`,
 * `.functions`, `.errors`).
 */
export interface AdminOverview {
  /** Open connections. */
  connections: number;
  /** Subscriptions held, by type. */
  subscriptions: { var: number; list: number; item: number };
  /** Totals since start. */
  framesReceived: number;
  /** Frames sent since start. */
  framesSent: number;
  /** Bytes sent since start. */
  bytesSent: number;
  /** Calls answered since start. */
  calls: number;
  /** Error frames sent since start. */
  errors: number;
  /** Slow-consumer actions since start. */
  slowConsumer: { left_topic: number; conflated: number; closed: number };
}

/** One sample a second: per-second rates over the last window. */
export interface AdminSeries {
  /** Sample times, Unix seconds. */
  t: number[];
  /** Connections at each sample. */
  connections: number[];
  /** Frames received per second. */
  framesIn: number[];
  /** Frames sent per second. */
  framesOut: number[];
  /** Calls per second. */
  calls: number[];
}

/**
 * Options of {@linkcode provideAdmin}.
 */
export interface AdminOptions {
  /** Milliseconds between samples. Default 1000. */
  every?: number;
  /** Milliseconds of history kept. Default 300 000 (five minutes). */
  window?: number;
  /** How many of the busiest groups and functions are listed. Default 10. */
  top?: number;
}

/**
 * Declares the admin vars on a hub with metrics and starts sampling; the
 * returned `close` stops it. The hub's `authorize` must keep them to
 * admins (see {@linkcode isAdminName}): they are open to anyone otherwise.
 */
export function provideAdmin(
  // deno-lint-ignore no-explicit-any
  hub: Hub<any>,
  options: AdminOptions = {},
): { close(): void } {
  const metrics = hub.metrics;
  if (!metrics) throw new TypeError("socksync: the admin view needs a hub with metrics");
  const every = options.every ?? 1000;
  const keep = Math.max(2, Math.ceil((options.window ?? 300_000) / every));
  const top = options.top ?? 10;
  const declare = <T>(name: string, initial: T): LocalVar<T> => {
    const full = ADMIN_PREFIX + name;
    if (hub.vars.has(full)) throw new Error(`socksync: the name ${full} is already declared`);
    // No store: admin numbers are this instance's, and change every second.
    const local = new LocalVar<T>(full, {
      schema: v.unknown() as v.GenericSchema<unknown, T>,
      initial,
    });
    hub.vars.set(full, local as LocalVar<unknown>);
    return local;
  };
  const overview = declare<AdminOverview>("overview", summary(metrics));
  const s: AdminSeries = { t: [], connections: [], framesIn: [], framesOut: [], calls: [] };
  const series = declare<AdminSeries>("series", { ...s });
  const groups = declare<{ name: string; kind: string; subscribers: number }[]>("groups", []);
  const functions = declare<{ name: string; calls: number; errors: number; meanMs: number }[]>(
    "functions",
    [],
  );
  const errors = declare<{ code: number; total: number; recent: number }[]>("errors", []);
  // Error totals by code at each sample, to tell the recent ones.
  const errorHistory: Map<number, number>[] = [];
  let last = summary(metrics);
  let lastAt = Date.now();
  const report = (error: unknown) => hub.onError(error, {});

  const sample = () => {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - lastAt) / 1000);
    const current = summary(metrics);
    const push = <K extends keyof AdminSeries>(key: K, value: number) => {
      s[key].push(value);
      if (s[key].length > keep) s[key].shift();
    };
    push("t", Math.round(now / 1000));
    push("connections", current.connections);
    push("framesIn", (current.framesReceived - last.framesReceived) / seconds);
    push("framesOut", (current.framesSent - last.framesSent) / seconds);
    push("calls", (current.calls - last.calls) / seconds);
    last = current;
    lastAt = now;
    errorHistory.push(new Map(metrics.errorsSent));
    if (errorHistory.length > keep) errorHistory.shift();
    const oldest = errorHistory[0];
    const sets = [
      overview.set(current),
      series.set({
        t: [...s.t],
        connections: [...s.connections],
        framesIn: [...s.framesIn],
        framesOut: [...s.framesOut],
        calls: [...s.calls],
      }),
      groups.set(busiest(hub, top)),
      functions.set(busiestFunctions(metrics, top)),
      errors.set(
        [...metrics.errorsSent].map(([code, total]) => ({
          code,
          total,
          recent: total - (oldest.get(code) ?? 0),
        })).sort((a, b) => a.code - b.code),
      ),
    ];
    for (const set of sets) set.catch(report);
  };
  const timer = setInterval(sample, every);
  return { close: () => clearInterval(timer) };
}

function summary(metrics: Metrics): AdminOverview {
  let calls = 0;
  for (const outcomes of metrics.calls.values()) for (const n of outcomes.values()) calls += n;
  let errors = 0;
  for (const n of metrics.errorsSent.values()) errors += n;
  return {
    connections: metrics.connections,
    subscriptions: { ...metrics.subscriptions },
    framesReceived: metrics.framesReceived,
    framesSent: metrics.framesSent,
    bytesSent: metrics.bytesSent,
    calls,
    errors,
    slowConsumer: { ...metrics.slowConsumer },
  };
}

// deno-lint-ignore no-explicit-any
function busiest(hub: Hub<any>, top: number) {
  const all: { name: string; kind: string; subscribers: number }[] = [];
  for (const [name, local] of hub.vars) {
    if (!isAdminName(name)) all.push({ name, kind: "var", subscribers: local.subscriberCount });
  }
  for (const [name, list] of hub.lists) {
    all.push({ name, kind: "list", subscribers: list.subscriberCount });
  }
  for (const [name, list] of hub.paramLists) {
    all.push({ name, kind: "param list", subscribers: list.subscriberCount });
  }
  return all.sort((a, b) => b.subscribers - a.subscribers || a.name.localeCompare(b.name))
    .slice(0, top);
}

function busiestFunctions(metrics: Metrics, top: number) {
  const all = [...metrics.calls].map(([name, outcomes]) => {
    let calls = 0;
    for (const n of outcomes.values()) calls += n;
    const h = metrics.callDurations.get(name);
    return {
      name,
      calls,
      errors: calls - (outcomes.get("ok") ?? 0),
      meanMs: h && h.count > 0 ? (h.sum / h.count) * 1000 : 0,
    };
  });
  return all.sort((a, b) => b.calls - a.calls || a.name.localeCompare(b.name)).slice(0, top);
}
