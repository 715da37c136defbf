import { WebSocket } from "ws"; // Node 20 only: it has no global WebSocket
import { type ApiShape, connect } from "socksync";

// The server's API written by hand: no import reaches the server's sources.
interface Api extends ApiShape {
  vars: { counter: number };
  lists: { todos: { item: { text: string; done: boolean }; params: undefined } };
  functions: {
    increment: { args: { by?: number }; result: number };
    add_todo: { args: { text: string }; result: { id: string } };
  };
}

const client = connect<Api>("ws://127.0.0.1:8080/ws/socksync", { WebSocket });
const { id } = await client.call("add_todo", { text: "typed by hand" });
console.log("added", id, "counter at", await client.call("increment", { by: 0 }));
client.close();
