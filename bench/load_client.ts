/**
 * A load-client process (Node): holds one pool of WebSocket or Socket.IO
 * clients, driven over IPC by `bench/fanout.ts` / `bench/idle_memory.ts`.
 * Each pool lives in its own process so that 10,000 clients per server fit
 * under the per-process open-file limit (20,000 here, not raisable).
 *
 * Messages in: {cmd:"grow", n} → {ok:true, size}; {cmd:"arm", count, timeout}
 * → {armed:true} then {done:true} | {error}; {cmd:"close"} → exits.
 */
import process from "node:process";
import { IoPool, type Pool, SUBSCRIBE, WsPool } from "./clients.ts";

const [kind, url] = process.argv.slice(2);
// "list:N:PAGES": client i views page floor(i * PAGES / N) of the list "big", pages of 20.
const [, listN, listPages] = kind.split(":").map(Number);
const pool: Pool = kind === "socketio"
  ? new IoPool(url)
  : kind.startsWith("list:")
  ? new WsPool(url, (i) =>
    JSON.stringify({
      func: "subscribe",
      type: "list",
      name: "big",
      page: Math.floor((i * listPages) / listN),
      page_size: 20,
    }))
  : new WsPool(url, SUBSCRIBE);
const send = (m: unknown) => process.send!(m);

process.on("message", async (m: { cmd: string; n?: number; count?: number; timeout?: number }) => {
  if (process.env.BENCH_DEBUG) console.error("child got", JSON.stringify(m), pool.size);
  try {
    if (m.cmd === "grow") {
      await pool.grow(m.n!);
      send({ ok: true, size: pool.size });
    } else if (m.cmd === "arm") {
      const done = pool.expect(m.count!, m.timeout);
      send({ armed: true });
      await done;
      send({ done: true });
    } else if (m.cmd === "close") {
      await pool.close();
      process.exit(0);
    }
  } catch (error) {
    send({ error: (error as Error).message });
  }
});
process.on("disconnect", () => process.exit(0));
send({ ready: true });
