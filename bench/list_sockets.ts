/**
 * 3b. List views over real sockets, one size: a SockSync server (own process,
 * core 0) with a 100,000-item memory list, N WebSocket subscribers (one client
 * process, core 1) on its pages of 20, in two layouts: spread evenly over all
 * pages (a window each, mostly), and all on the first page (one window, the
 * usual case of a feed's newest page). Per change: frames delivered, time to
 * the last one, and server CPU, against the floor measured side by side — one
 * pre-encoded `set_count` written to the same N sockets, one `send` each.
 *
 *   node --import tsx bench/list_sockets.ts [--n 1000] [--rounds 5] [--runtimes node,deno,bun]
 */
import process from "node:process";
import { prepareLoadProcess, RemotePool, runtimeCommand, ServerProcess } from "./clients.ts";
import {
  args,
  commandLine,
  fmt,
  fs,
  ratios,
  type Runtime,
  sectionHead,
  stats,
  table,
  writeSection,
} from "./lib.ts";

const opts = args();
const N = Number(opts.get("n") ?? 1000);
const ROUNDS = Number(opts.get("rounds") ?? 5);
const RUNTIMES = (opts.get("runtimes") ?? opts.get("runtime") ?? "node,deno,bun").split(
  ",",
) as Runtime[];
const ITEMS = 100_000;
const OPS = [["insert@0", 1], ["delete@0", 2], ["set@middle", 3], ["floor", 4]] as const;
/** How many pages the subscribers are spread over. */
const LAYOUTS = [["spread over all pages", ITEMS / 20], ["all on page 0", 1]] as const;

type Samples = Record<string, { cpu: number; ms: number }[]>;
interface Run {
  runtime: Runtime;
  layout: string;
  expected: Record<string, number>;
  samples: Samples;
  errors: string[];
}

async function measure(
  server: ServerProcess,
  runtime: Runtime,
  [layout, pages]: readonly [string, number],
): Promise<Run> {
  const pool = new RemotePool(`list:${N}:${pages}`, `ws://127.0.0.1:${server.port}/ws/socksync`);
  // Subscribers of the page holding the middle item.
  const middlePage = Math.floor(ITEMS / 2 / 20);
  let onMiddle = 0;
  for (let i = 0; i < N; i++) if (Math.floor((i * pages) / N) === middlePage) onMiddle++;
  const expected: Record<string, number> = {
    "insert@0": N,
    "delete@0": N,
    "set@middle": onMiddle,
    floor: N,
  };
  const samples: Samples = {};
  const errors: string[] = [];
  try {
    await pool.grow(N);
    for (let r = -1; r < ROUNDS; r++) {
      for (const [name, code] of OPS) {
        if (expected[name] === 0) continue;
        await server.ask("mark", "MARK");
        const { done } = await pool.arm(expected[name], 30_000);
        const t0 = performance.now();
        server.send(`fire ${code}`);
        try {
          await done;
        } catch (error) {
          errors.push(`${name}: ${(error as Error).message}`);
          continue;
        }
        const ms = performance.now() - t0;
        const [cpu] = await server.ask("cpu", "CPU");
        if (r >= 0) (samples[name] ??= []).push({ cpu: Number(cpu), ms });
      }
    }
  } finally {
    await pool.close();
  }
  return { runtime, layout, expected, samples, errors };
}

prepareLoadProcess();
const runs: Run[] = [];
for (const rt of RUNTIMES) {
  const server = await ServerProcess.start(
    `${rt}/list`,
    runtimeCommand(rt, "bench/fanout_server.ts", ["list"]),
    120_000,
  );
  try {
    for (const layout of LAYOUTS) runs.push(await measure(server, rt, layout));
  } finally {
    await server.stop();
  }
}

const rows = runs.flatMap(({ runtime, layout, expected, samples }) => {
  const floor = samples.floor ?? [];
  return OPS.filter(([n]) => n !== "floor" && samples[n]).map(([name]) => {
    const s = samples[name];
    return [
      runtime,
      layout,
      name,
      fmt(expected[name]),
      `${fmt(stats(s.map((x) => x.cpu)).median)} / ${
        fmt(stats(floor.map((x) => x.cpu)).median)
      } µs`,
      fs(ratios(s.map((x) => x.cpu), floor.map((x) => x.cpu))),
      `${fmt(stats(s.map((x) => x.ms)).median)} / ${fmt(stats(floor.map((x) => x.ms)).median)} ms`,
      fs(ratios(s.map((x) => x.ms), floor.map((x) => x.ms))),
    ];
  });
});
const errors = runs.flatMap((r) => r.errors.map((e) => `${r.runtime}, ${r.layout}: ${e}`));
const md = [
  sectionHead(`3b. List views over real sockets (N = ${fmt(N)})`, commandLine()),
  `100,000-item memory list, pages of 20, N WebSocket subscribers either spread evenly over the pages or all on ` +
  `page 0; each change is awaited until every expected frame arrived. Floor (same run, same server, interleaved) = ` +
  `one pre-encoded \`set_count\` written to the same N sockets, one \`send\` each. Subscribers of one window that ` +
  `are in step get its frames through the runtime's topics (Bun's \`publish\`; on \`ws\`, one pre-framed buffer ` +
  `per socket). ${ROUNDS} rounds.${errors.length ? ` Errors: ${errors.join("; ")}` : ""}`,
  "",
  table([
    "runtime",
    "subscribers",
    "change",
    "frames delivered",
    "server CPU (change / floor)",
    "CPU ÷ floor",
    "time to last frame (change / floor)",
    "time ÷ floor",
  ], rows),
].join("\n");
console.log(md);
if (!opts.has("no-write")) writeSection("lists-sockets", md);
process.exit(0);
