import { WebSocket } from "ws"; // Node 20 only: it has no global WebSocket
import { connect } from "socksync";

const client = connect("ws://127.0.0.1:8080/ws/socksync", {
  WebSocket, // leave out where a global WebSocket exists
  reconnect: { minDelay: 250, maxDelay: 10_000 },
  onConnect: () => console.log("connected"),
  onDisconnect: ({ code }) => console.log("disconnected", code),
  onError: (error, { name }) => console.warn(name, error.code, error.message),
});

const counter = client.var<number>("counter");
counter.onChange(() => console.log("counter =", counter.value));

const todos = client.list<{ text: string; done: boolean }>("todos", { page: 0, pageSize: 20 });
todos.onChange(() => console.log(todos.items, `page ${todos.page + 1} of ${todos.pageCount}`));
todos.setPage(1); // or client.getPage(todos, 1, 10)

console.log(await client.call("increment", { by: 2 }, { timeout: 5000 }));
client.close();
