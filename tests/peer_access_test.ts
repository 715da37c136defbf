/**
 * `authorize` covers `unsubscribe` too: a refused connection gets error 1 for
 * every name, whether it exists or not, and a connection can always end a
 * subscription it holds, even once it is no longer allowed to make it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { Hub } from "../mod.ts";
import type { AccessRequest } from "../src/peer/peer.ts";
import { MemoryListSource } from "../stores/memory/mod.ts";
import { RawSocket } from "./helpers/raw_socket.ts";
import { serveHub } from "./helpers/serve_hub.ts";

interface Session {
  allowed: boolean;
}

async function withHub(
  fn: (
    fx: { raw: RawSocket; session: Session; asked: AccessRequest[]; hub: Hub<Session> },
  ) => Promise<void>,
  allowed: boolean,
): Promise<void> {
  const asked: AccessRequest[] = [];
  const session: Session = { allowed };
  const hub = new Hub<Session>({
    authorize: (context, request) => {
      asked.push(request);
      return context.allowed;
    },
  });
  hub.var("secret", { schema: v.string(), initial: "s3cr3t" });
  hub.list("names", { source: new MemoryListSource(), schema: v.string() });
  const { server, url } = await serveHub(hub, { context: () => session });
  const raw = await RawSocket.open(url);
  try {
    await fn({ raw, session, asked, hub });
  } finally {
    await raw.close();
    await server.close();
    await hub.close();
  }
}

test("a refused unsubscribe gets error 1, the same for a name that exists and one that does not", async () => {
  await withHub(async ({ raw, asked }) => {
    const replies: unknown[] = [];
    for (const name of ["secret", "no_such_thing"]) {
      for (
        const frame of [
          { func: "unsubscribe", type: "var", name },
          { func: "unsubscribe", type: "list", name },
          { func: "unsubscribe", type: "list", name, id: "x" },
        ]
      ) {
        raw.send(frame);
        const reply = await raw.next();
        assert.equal(reply.error_code, 1, JSON.stringify(reply));
        assert.equal(reply.message, "not subscribed");
        replies.push({ ...reply, name: "*" });
      }
    }
    assert.deepEqual(replies.slice(0, 3), replies.slice(3));
    assert.deepEqual(asked[0], { action: "subscribe", type: "var", name: "secret" });
  }, false);
});

test("an allowed unsubscribe of an unknown name gets error 3", async () => {
  await withHub(async ({ raw }) => {
    raw.send({ func: "unsubscribe", type: "var", name: "no_such_thing" });
    assert.equal((await raw.next()).error_code, 3);
  }, true);
});

test("a subscription the connection holds can always be ended", async () => {
  await withHub(async ({ raw, session, asked, hub }) => {
    raw.send({ func: "subscribe", type: "var", name: "secret" });
    assert.equal((await raw.next()).value, "s3cr3t");
    session.allowed = false;
    const before = asked.length;
    raw.send({ func: "unsubscribe", type: "var", name: "secret" });
    // A round trip, so the unsubscribe was handled before the change.
    raw.send({ func: "get", type: "var", name: "secret" });
    assert.equal((await raw.next()).error_code, 1);
    await hub.vars.get("secret")!.set("changed");
    // Nothing answers the unsubscribe, and the change is not pushed: the
    // next frame is the answer to this refused subscribe.
    raw.send({ func: "subscribe", type: "var", name: "secret" });
    assert.equal((await raw.next()).error_code, 1);
    assert.deepEqual(
      asked.slice(before).map((request) => request.action),
      ["get", "subscribe"],
      "the unsubscribe needed no permission",
    );
  }, true);
});
