/**
 * Run as a child process by tests/peer_limits_off_test.ts: peers whose timers
 * are turned off (`0` or `Infinity`) must leave nothing behind that keeps the
 * process alive. Prints "started", then exits by itself, or hangs if a timer
 * keeps running.
 *
 * @module
 */
import { Hub } from "../../mod.ts";
import { Peer } from "../../src/peer/mod.ts";

const socket = { send() {}, close() {}, readyState: 1, bufferedAmount: 0 };
const peers = [
  new Peer({ socket, limits: { idleTimeout: Infinity } }),
  new Peer({ socket, limits: { idleTimeout: 0 } }),
  new Hub({ limits: { idleTimeout: Infinity } }).connect(socket),
  new Hub({ limits: { idleTimeout: 0 } }).connect(socket),
];
// Calls without a timeout wait for an answer that never comes: no timer either.
for (const peer of peers) {
  peer.receive('{"func":"subscribe","type":"function","name":"f"}');
  peer.call("f", undefined, { timeout: Infinity }).catch(() => console.log("rejected"));
}
new Peer({ socket, limits: { callTimeout: Infinity } }).call("f").catch(() => {
  console.log("rejected");
});
new Peer({ socket, limits: { callTimeout: 0 } }).call("f").catch(() => console.log("rejected"));
console.log("started");
