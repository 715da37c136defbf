// `npm run server` entry: Node 20 cannot run TypeScript by itself, so register
// tsx first. Under Bun and Deno (`bun run server` runs this same script with
// Bun) TypeScript runs natively and tsx is not needed.
const native = typeof globalThis.Bun !== "undefined" ||
  typeof globalThis.Deno !== "undefined";
if (!native) {
  const { register } = await import("tsx/esm/api");
  register();
}
await import("./server.ts");
