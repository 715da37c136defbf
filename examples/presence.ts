// Presence (docs/presence.md): who is in a room, as a live paged list.
import * as v from "valibot";
import { Hub } from "socksync";
import { MemoryListSource, memoryStore } from "socksync/stores/memory";

const store = memoryStore(); // or openRedisStore(…) / openPostgresStore(…) for several instances
const hub = new Hub();
const Room = v.object({ room: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) });
hub.list("messages", { params: Room, source: () => new MemoryListSource() }); // your messages

const members = hub.presence("room_members", {
  params: Room, // the scope, as subscribers send it
  state: v.object({ name: v.pipe(v.string(), v.maxLength(32)), typing: v.boolean() }),
  initial: { name: "anon", typing: false }, // or (context) => ({ name: context.user, … })
  store: store.presence!(),
  joinWith: "messages", // present in room R while viewing messages of R (any page)
  maxPageSize: 50,
});

hub.function("set_presence", {
  args: v.object({ room: v.string(), typing: v.optional(v.boolean()) }),
  handler: async ({ room, ...change }, { peer }) => {
    await members.update(peer, { room }, change); // error 1 when not in the room
    return {};
  },
});
