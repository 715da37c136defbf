// The "open one in code" example of docs/stores.md, then closing what it
// opened. Needs Redis on 127.0.0.1:6379; creates ./data/socksync.db.
import { memoryStore } from "socksync/stores/memory";
import { openSqliteStore } from "socksync/stores/sqlite";
import { openRedisStore } from "socksync/stores/redis";

const store = memoryStore();
const sqlite = await openSqliteStore({ path: "./data/socksync.db" }); // creates ./data
const redis = await openRedisStore({ url: "redis://127.0.0.1:6379", prefix: "todo:" });

console.log("opened memory, sqlite and redis stores");
await Promise.all([store.close(), sqlite.close(), redis.close()]);
