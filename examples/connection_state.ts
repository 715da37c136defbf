// On a bad network (docs/networks.md): the state of a client's connection.
import { connect } from "socksync";

const url = "ws://127.0.0.1:8080/ws/socksync";
const client = connect(url);
client.state; // { status: "open", attempt: 0 }
client.connection.subscribe(({ status, nextAttempt, lastDisconnect }) => {
  // status: "connecting" (first time) | "open" | "reconnecting" | "closed"
  // ("open" with an `auth` option: once the connection has signed in)
  // nextAttempt: when the next attempt starts (ms since 1970), while waiting for it
  // lastDisconnect: { code, reason } of the last drop, e.g. 4000 "no heartbeat: …"
  console.log(status, nextAttempt, lastDisconnect);
});
client.close();
