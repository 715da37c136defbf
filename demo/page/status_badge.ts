/// <reference lib="dom" />
/**
 * The header's status badge of every demo page: the client's connection
 * state (`client.connection`), with a countdown to the next attempt while
 * offline and the last disconnect reason as its tooltip. Nothing is disabled
 * while offline: calls wait for the connection, within their timeout.
 *
 * @module
 */
import type { ConnectionState } from "../../src/client/state.ts";

/**
 * Keeps `badge` showing the state of `connection`; returns the function that stops it.
 *
 * @example
 * ```ts
 * import { connect } from "../../src/client/client.ts";
 * import { showConnection } from "./status_badge.ts";
 * const client = connect("ws://127.0.0.1:8080/ws/socksync");
 * showConnection(client.connection, document.getElementById("status")!);
 * ```
 */
export function showConnection(
  connection: { subscribe(listener: (state: ConnectionState) => void): () => void },
  badge: HTMLElement,
): () => void {
  let ticker: ReturnType<typeof setInterval> | undefined;
  const show = (state: ConnectionState) => {
    clearInterval(ticker);
    ticker = undefined;
    badge.dataset.state = state.status === "open" ? "connected" : "disconnected";
    badge.title = state.lastDisconnect
      ? `last disconnect: ${state.lastDisconnect.code} ${state.lastDisconnect.reason}`.trim()
      : "";
    if (state.status === "open") badge.textContent = "live";
    else if (state.status === "connecting") badge.textContent = "connecting…";
    else if (state.status === "closed") badge.textContent = "closed";
    else {
      const tick = () => {
        const left = state.nextAttempt === undefined ? 0 : state.nextAttempt - Date.now();
        badge.textContent = left > 500
          ? `offline: retrying in ${Math.ceil(left / 1000)} s`
          : "reconnecting…";
      };
      tick();
      if (state.nextAttempt !== undefined) ticker = setInterval(tick, 500);
    }
  };
  const stop = connection.subscribe(show);
  return () => {
    stop();
    clearInterval(ticker);
  };
}
