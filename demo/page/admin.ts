/// <reference lib="dom" />
/**
 * The admin page's script, bundled for browsers at server start: a SockSync
 * client of the hub's admin vars (see `src/server/admin.ts`), plotted with
 * uPlot. The WebSocket carries the admin session cookie set at sign-in.
 *
 * @module
 */
import uPlot from "uplot";
import { connect } from "../../src/client/client.ts";
import type { AdminOverview, AdminSeries } from "../../src/server/admin.ts";

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const status = $("status");
const setStatus = (state: string, text: string) => {
  status.dataset.state = state;
  status.textContent = text;
};

const scheme = location.protocol === "https:" ? "wss" : "ws";
const client = connect(`${scheme}://${location.host}/ws/socksync`, {
  reconnect: { minDelay: 250, maxDelay: 5000 },
  onConnect: () => setStatus("connected", "live"),
  onDisconnect: () => setStatus("disconnected", "reconnecting…"),
});
const overview = client.var<AdminOverview>("socksync.admin.overview");
const series = client.var<AdminSeries>("socksync.admin.series");
const groups = client.var<{ name: string; kind: string; subscribers: number }[]>(
  "socksync.admin.groups",
);
const functions = client.var<{ name: string; calls: number; errors: number; meanMs: number }[]>(
  "socksync.admin.functions",
);
const errors = client.var<{ code: number; total: number; recent: number }[]>(
  "socksync.admin.errors",
);

const number = new Intl.NumberFormat("en");
overview.onChange(() => {
  const o = overview.value;
  if (!o) return;
  $("connections").textContent = number.format(o.connections);
  const s = o.subscriptions;
  $("subscriptions").textContent = `${
    s.var + s.list + s.item
  } (${s.var} var, ${s.list} list, ${s.item} item)`;
  $("frames").textContent = `${number.format(o.framesReceived)} / ${number.format(o.framesSent)}`;
  $("calls").textContent = number.format(o.calls);
  $("errors-total").textContent = number.format(o.errors);
  const w = o.slowConsumer;
  $("slow").textContent =
    `${w.closed} closed, ${w.conflated} conflated, ${w.left_topic} left topic`;
});

function rows(body: HTMLElement, cells: (string | number)[][]): void {
  body.replaceChildren(...cells.map((row) => {
    const tr = document.createElement("tr");
    for (const cell of row) {
      const td = document.createElement("td");
      td.textContent = typeof cell === "number" ? number.format(cell) : cell;
      tr.append(td);
    }
    return tr;
  }));
}
groups.onChange(() =>
  rows($("groups"), (groups.value ?? []).map((g) => [g.name, g.kind, g.subscribers]))
);
functions.onChange(() =>
  rows(
    $("functions"),
    (functions.value ?? []).map((f) => [f.name, f.calls, f.errors, f.meanMs.toFixed(2)]),
  )
);
errors.onChange(() =>
  rows($("errors"), (errors.value ?? []).map((e) => [String(e.code), e.recent, e.total]))
);

const width = () => Math.min(920, document.body.clientWidth - 64);
const connectionsPlot = new uPlot(
  {
    title: "Connections",
    width: width(),
    height: 180,
    series: [{}, { label: "connections", stroke: "#4f46e5", width: 2 }],
  },
  [[], []],
  $("plot-connections"),
);
const ratesPlot = new uPlot(
  {
    title: "Per second",
    width: width(),
    height: 200,
    series: [
      {},
      { label: "frames in", stroke: "#059669", width: 2 },
      { label: "frames out", stroke: "#d97706", width: 2 },
      { label: "calls", stroke: "#dc2626", width: 2 },
    ],
  },
  [[], [], [], []],
  $("plot-rates"),
);
series.onChange(() => {
  const s = series.value;
  if (!s) return;
  connectionsPlot.setData([s.t, s.connections]);
  ratesPlot.setData([s.t, s.framesIn, s.framesOut, s.calls]);
});
