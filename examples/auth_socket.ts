// The examples of docs/auth.md: a token sent over the socket, an expiry
// with a refresh ahead of it, revocation, and a per-user list.
import * as v from "valibot";
import { connect, Hub, socketAuth } from "socksync";
import { serve } from "socksync/hono";
import { MemoryListSource } from "socksync/stores/memory";

interface User {
  id: string;
  sessionId: string;
  sessionEnd: number;
  banned?: boolean;
  rooms?: string[];
}
// Stands in for your session store: token → session.
const tokens = new Map<string, { user: User; expiresAt: number }>();
const sessions = {
  verify: (token: unknown) => Promise.resolve(tokens.get(String(token))),
};
function issueToken(id: string): string {
  const token = crypto.randomUUID();
  const expiresAt = Date.now() + 60_000;
  tokens.set(token, { user: { id, sessionId: token, sessionEnd: expiresAt }, expiresAt });
  return token;
}
const getToken = () => Promise.resolve(issueToken("ada"));
const notesOf = new Map<string, MemoryListSource<{ text: string }>>();
const notesTable = (id: string) => {
  if (!notesOf.has(id)) notesOf.set(id, new MemoryListSource<{ text: string }>());
  return notesOf.get(id)!;
};
const newRooms = ["lobby"];

// Server: credentials in, context and expiry out (undefined or a throw refuses them).
const hub = new Hub<User | undefined>({
  authenticate: async (token) => {
    const session = await sessions.verify(token);
    return session && { context: session.user, expiresAt: session.expiresAt };
  },
  expiresAt: (user) => user?.sessionEnd, // for contexts built at the upgrade (cookies)
  sessionKeys: (user) => user ? [`user:${user.id}`, `session:${user.sessionId}`] : [],
});

hub.list("my_notes", {
  params: v.optional(v.strictObject({})), // subscribers send none
  key: (_params, user) => user!.id, // one query per user, even with equal params
  source: (_params, user) => notesTable(user!.id), // the user's rows only (a WHERE in SQL)
  maxPageSize: 50,
});

const server = await serve({ hub, port: 0 });
const url = `ws://127.0.0.1:${server.port}/ws/socksync`;

// Client: a value, or a function asked before every connect and every refresh; `socketAuth`
// (imported from "socksync") carries the code that sends them, which other clients leave out.
const client = connect(url, { auth: async () => await getToken(), socketAuth });

await client.ready();
const notes = client.list<{ text: string }>("my_notes");
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(`signed in, ${notes.total} notes`);

hub.revoke("session:abc"); // closes those connections with 4001 `authentication revoked`
hub.revoke((user) => user?.banned === true); // a predicate: this instance only
hub.recheck("user:42"); // permissions changed: live subscriptions re-checked, refused ones end
hub.recheck("user:42", (user) => user && { ...user, rooms: newRooms }); // with a new context here

client.close();
await server.close();
await hub.close();
