/**
 * Metrics (`new Hub({ metrics: true })`) after a known workload over real
 * sockets: connections, subscriptions, frames, calls by outcome, error
 * frames by code, store operations, feed lag, slow-consumer closes; and
 * `socksync/prometheus` giving them as Prometheus text that a Prometheus
 * text parser reads back.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import * as v from "valibot";
import parsePrometheus from "parse-prometheus-text-format";
import { ErrorCode, Hub, SockSyncError } from "../mod.ts";
import { MemoryListSource, MemoryVarStore } from "../stores/memory/mod.ts";
import { missingPromClient, registerMetrics } from "../src/prometheus/mod.ts";
import { addMetricsRoute } from "../demo/admin.ts";
import { withServedHub } from "./helpers/serve_hub.ts";
import { waitUntil } from "./helpers/wait.ts";

function workloadHub(): Hub {
  const hub = new Hub({ metrics: true, vars: new MemoryVarStore() });
  hub.var("counter", { schema: v.number(), initial: 0 });
  hub.list("todos", { source: new MemoryListSource(), schema: v.string() });
  hub.function("echo", { handler: (args) => args });
  hub.function("refuse", {
    handler: () => {
      throw new SockSyncError(ErrorCode.InvalidArguments, "no");
    },
  });
  return hub;
}

interface Sample {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }[];
}

/** The value of one sample of a parsed family, by labels. */
function valueOf(families: Sample[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  assert.ok(family, `${name} is missing`);
  const sample = family.metrics.find((m) =>
    Object.entries(labels).every(([k, want]) => m.labels?.[k] === want)
  );
  assert.ok(sample, `${name}${JSON.stringify(labels)} is missing`);
  return Number(sample.value);
}

describe("metrics", () => {
  test("count connections, subscriptions, frames, calls and error frames", async () => {
    const hub = workloadHub();
    const metrics = hub.metrics!;
    await withServedHub({ hub, accept: ["echo", "refuse"] }, async ({ open }) => {
      const clients = [await open(), await open(), await open()];
      await waitUntil(() => metrics.connections === 3, { what: "3 connections" });
      assert.equal(metrics.connectionsOpened, 3);

      for (const client of clients) {
        client.send({ func: "subscribe", type: "var", name: "counter" });
      }
      for (const client of clients) await client.next((f) => f.func === "set");
      clients[0].send({ func: "subscribe", type: "list", name: "todos" });
      await clients[0].next((f) => f.func === "set_all");
      assert.deepEqual(metrics.subscriptions, { var: 3, list: 1, item: 0 });

      const received = metrics.framesReceived;
      const sent = metrics.framesSent;
      for (let k = 0; k < 5; k++) assert.equal((await clients[1].call("echo", k)).func, "return");
      assert.equal(metrics.calls.get("echo")?.get("ok"), 5);
      assert.equal(metrics.callDurations.get("echo")?.count, 5);
      assert.equal(metrics.framesReceived, received + 5);
      assert.equal(metrics.framesSent, sent + 5);

      const refused = await clients[1].call("refuse");
      assert.equal(refused.error_code, ErrorCode.InvalidArguments);
      assert.equal(metrics.calls.get("refuse")?.get(String(ErrorCode.InvalidArguments)), 1);
      assert.equal(metrics.errorsSent.get(ErrorCode.InvalidArguments), 1);

      clients[2].send({ func: "get", type: "var", name: "nothing" });
      const error = await clients[2].next((f) => f.func === "error");
      assert.equal(error.error_code, ErrorCode.InvalidName);
      assert.equal(metrics.errorsSent.get(ErrorCode.InvalidName), 1);
      // A name nobody declared is no label: only declared functions are counted.
      await clients[2].call("nobody");
      assert.deepEqual([...metrics.calls.keys()].sort(), ["echo", "refuse"]);

      clients[0].send({ func: "unsubscribe", type: "var", name: "counter" });
      await waitUntil(() => metrics.subscriptions.var === 2, { what: "var subscriptions 2" });

      await clients[0].close();
      await waitUntil(() => metrics.connections === 2, { what: "2 connections" });
      assert.equal(metrics.subscriptions.list, 0, "a closed connection's subscriptions end");
      assert.equal(metrics.connectionsClosed.get(1005) ?? metrics.connectionsClosed.get(1000), 1);
      assert.ok(metrics.bytesSent >= metrics.framesSent * 10);
    });
  });

  test("time store operations and the feed, count slow-consumer closes", async () => {
    const hub = workloadHub();
    const metrics = hub.metrics!;
    await withServedHub({ hub, accept: ["echo"] }, async ({ open }) => {
      const client = await open();
      client.send({ func: "subscribe", type: "list", name: "todos" });
      await client.next((f) => f.func === "set_all");
      await hub.lists.get("todos")!.insert(0, "milk");
      await client.next((f) => f.func === "insert");
      await waitUntil(() => metrics.feedLag.count >= 1, { what: "a feed lag observation" });
      const list = metrics.storeOperations.get("MemoryListSource");
      assert.ok(list?.get("insert")?.count === 1, "the insert was timed");
      assert.ok((list?.get("page")?.count ?? 0) >= 1, "the page read was timed");
      assert.ok(
        metrics.storeOperations.get("MemoryVarStore")?.get("get"),
        "the var load was timed",
      );
    });

    // A socket whose queue is past the hard cap: the connection is closed as a slow consumer.
    const peer = hub.connect(
      { send() {}, close() {}, readyState: 1, bufferedAmount: 1e12 },
      { limits: { maxBufferedBytes: 1000, congestionBytes: 100 } },
    );
    for (let i = 0; i < 20 && !peer.detached; i++) peer.sendText("x".repeat(100));
    assert.ok(peer.detached);
    assert.equal(metrics.slowConsumer.closed, 1);
    assert.equal(metrics.connectionsClosed.get(1013), 1);
    await hub.close();
  });

  test("a hub without metrics counts nothing", async () => {
    const hub = new Hub();
    assert.equal(hub.metrics, undefined);
    const peer = hub.connect({ send() {}, close() {}, readyState: 1 });
    assert.equal(peer.metrics, undefined);
    await assert.rejects(registerMetrics(hub), TypeError);
    await hub.close();
  });

  test("GET /metrics is Prometheus text with every socksync metric", async () => {
    const hub = workloadHub();
    const app = new Hono();
    await addMetricsRoute(app, hub);
    await withServedHub(
      { hub, accept: ["echo", "refuse"], serve: { app } },
      async ({ open, port }) => {
        const client = await open();
        await client.call("echo", 1);
        await client.call("echo", 2);
        await client.call("refuse");
        client.send({ func: "subscribe", type: "var", name: "counter" });
        await client.next((f) => f.func === "set");
        client.send({ func: "subscribe", type: "list", name: "todos" });
        await client.next((f) => f.func === "set_all");
        await hub.lists.get("todos")!.insert(0, "milk");
        await client.next((f) => f.func === "insert");
        await waitUntil(() => hub.metrics!.feedLag.count === 1, {
          what: "the change's frames sent",
        });
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
        const families = parsePrometheus(await response.text()) as Sample[];
        const types = Object.fromEntries(families.map((f) => [f.name, f.type]));
        assert.deepEqual(
          Object.entries(types).filter(([name]) => name.startsWith("socksync_")).sort(),
          [
            ["socksync_bytes_sent_total", "COUNTER"],
            ["socksync_call_duration_seconds", "HISTOGRAM"],
            ["socksync_calls_total", "COUNTER"],
            ["socksync_connections", "GAUGE"],
            ["socksync_connections_closed_total", "COUNTER"],
            ["socksync_connections_opened_total", "COUNTER"],
            ["socksync_errors_sent_total", "COUNTER"],
            ["socksync_feed_lag_seconds", "HISTOGRAM"],
            ["socksync_frames_received_total", "COUNTER"],
            ["socksync_frames_sent_total", "COUNTER"],
            ["socksync_slow_consumer_total", "COUNTER"],
            ["socksync_store_operation_duration_seconds", "HISTOGRAM"],
            ["socksync_subscriptions", "GAUGE"],
          ],
        );
        assert.equal(valueOf(families, "socksync_connections"), 1);
        assert.equal(valueOf(families, "socksync_subscriptions", { type: "var" }), 1);
        assert.equal(
          valueOf(families, "socksync_calls_total", { function: "echo", outcome: "ok" }),
          2,
        );
        assert.equal(
          valueOf(families, "socksync_calls_total", { function: "refuse", outcome: "6" }),
          1,
        );
        assert.equal(valueOf(families, "socksync_errors_sent_total", { code: "6" }), 1);
        assert.equal(valueOf(families, "socksync_frames_received_total"), 5);
        // The parser folds a histogram's label sets into one sample: one without labels is read
        // back whole, the labelled ones are checked above through the hub's own numbers.
        const lag = families.find((f) => f.name === "socksync_feed_lag_seconds")!;
        const [whole] = lag.metrics as { count?: string; buckets?: Record<string, string> }[];
        assert.equal(Number(whole.count), 1);
        assert.equal(Number(whole.buckets?.["+Inf"]), 1);
        // prom-client's process metrics come along where the runtime has them.
        assert.ok(families.some((f) => f.name === "process_cpu_user_seconds_total"));
      },
    );
  });

  test("a missing prom-client names the package and the install command", () => {
    const error = missingPromClient(new Error("Cannot find package 'prom-client'"));
    assert.match(error.message, /^socksync\/prometheus needs the prom-client package: /);
    assert.match(error.message, /(npm install |bun add |deno add npm:)prom-client/);
    assert.equal(error.name, "MissingDriverError");
  });
});
