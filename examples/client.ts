import { WebSocket } from "ws"; // Node 20 only: it has no global WebSocket
import { connect } from "socksync";
// Types only: the server's names and types, none of its code.
import type { Api } from "./server.ts";

const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync", {
  WebSocket, // leave out where a global WebSocket exists
  reconnect: { minDelay: 250, maxDelay: 10_000 },
  onConnect: () => console.log("connected"),
  onDisconnect: ({ code }) => console.log("disconnected", code),
  onError: (error, { name }) => console.warn(name, error.code, error.message),
});

const counter = client.var("counter"); // counter.value: number | undefined
counter.onChange(() => console.log("counter =", counter.value));

const todos = client.list("todos", { page: 0, pageSize: 20 });
todos.onChange(() => console.log(todos.items, `page ${todos.page + 1} of ${todos.pageCount}`));
todos.setPage(1); // or client.getPage(todos, 1, 10)

console.log(await client.call("increment", { by: 2 }, { timeout: 5000 }));
client.close();
