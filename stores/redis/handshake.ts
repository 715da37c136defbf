/**
 * A bound on the command connection's handshake. Without ioredis'
 * `commandTimeout` (the store times its own commands, deadlines.ts), nothing
 * times the commands ioredis sends itself between the TCP connect and
 * "ready" (AUTH, SELECT, CLIENT SETNAME, the ready check's INFO), and
 * `connectTimeout` ends at the TCP connect: a reconnect that reaches a peer
 * that accepts and stays silent (a stalled proxy, a half-open route) would
 * wait in "connect" forever while every command fails.
 *
 * @module
 */
import type { Redis } from "ioredis";

/**
 * Drops `client`'s connection (ioredis then reconnects) when "ready" does not
 * follow "connect" within `ms`.
 */
export function boundHandshake(client: Redis, ms: number): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const clear = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  client.on("connect", () => {
    clear();
    timer = setTimeout(() => {
      timer = undefined;
      if (client.status === "connect") client.disconnect(true);
    }, ms);
    // (Node and Bun: a timer of its own must not keep the process alive.)
    (timer as { unref?: () => void }).unref?.();
  });
  client.on("ready", clear);
  client.on("close", clear);
  client.on("end", clear);
}
