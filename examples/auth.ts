// The authentication example of docs/security.md, with the user
// type and the middleware it assumes.
import type { MiddlewareHandler } from "hono";
import { Hub } from "socksync";
import { serve } from "socksync/hono";

interface User {
  name: string;
  isAdmin: boolean;
}
// Who is asking: a header here; a session cookie or a bearer token in an application.
const myAuthMiddleware: MiddlewareHandler<{ Variables: { user: User } }> = async (c, next) => {
  const name = c.req.header("x-user");
  if (!name) return c.text("who are you?", 401);
  c.set("user", { name, isAdmin: name === "admin" });
  await next();
};

const hub = new Hub<User>({
  authorize: (user, { action, name }) => action !== "call" || name !== "admin" || user.isAdmin,
});
const server = await serve({
  hub,
  middleware: [myAuthMiddleware], // sets c.var.user, or answers 401/403
  context: (c) => c.get("user"),
  guard: { allowedOrigins: ["https://app.example.com"] },
});
console.log(`listening on ${server.url}`);
await server.close();
await hub.close();
