/**
 * Starts the real demo server as a child process on Node, Deno or Bun and
 * waits for its "listening on" line.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

/**
 * The repository root.
 *
 * @example
 * ```ts
 * import { ROOT } from "./spawn_server.ts";
 * console.log(ROOT);
 * ```
 */
export const ROOT: string = resolve(
  dirname(fileURLToPath(new URL(".", import.meta.url).href)),
  "..",
);

/**
 * The runtimes the demo server runs on.
 *
 * @example
 * ```ts
 * import type { ServerRuntime } from "./spawn_server.ts";
 * const runtime: ServerRuntime = "bun";
 * ```
 */
export type ServerRuntime = "node" | "deno" | "bun";

/** The local binary from node_modules/.bin, else the one on PATH. */
function bin(name: string): string {
  const local = join(ROOT, "node_modules", ".bin", name);
  return existsSync(local) ? local : name;
}

/**
 * The command that starts the demo on a runtime: what `npm run server`,
 * `deno run server` (the deno.json task) and `bun run server` run, minus the
 * task runner in between, so that a signal reaches the server itself.
 *
 * @example
 * ```ts
 * import { serverCommand } from "./spawn_server.ts";
 * const [command, ...args] = serverCommand("deno");
 * ```
 */
export function serverCommand(runtime: ServerRuntime): string[] {
  switch (runtime) {
    case "node":
      return ["node", "demo/start.mjs"];
    case "deno":
      return [bin("deno"), "run", "-A", "demo/server.ts"];
    case "bun":
      // `bun run server` runs package.json's `node demo/start.mjs` with Bun.
      return [bin("bun"), "demo/start.mjs"];
  }
}

/**
 * The command that runs a TypeScript file on the runtime running the tests.
 *
 * @example
 * ```ts
 * import { scriptCommand } from "./spawn_server.ts";
 * const [command, ...args] = scriptCommand("tests/helpers/timers_off_child.ts");
 * ```
 */
export function scriptCommand(file: string): string[] {
  const runtime = globalThis as { Deno?: unknown; Bun?: unknown };
  if (runtime.Deno) return [process.execPath, "run", "-A", file];
  if (runtime.Bun) return [process.execPath, "run", file];
  return [process.execPath, "--import", "tsx", file];
}

/**
 * Options of {@linkcode spawnServer}.
 *
 * @example
 * ```ts
 * import type { SpawnServerOptions } from "./spawn_server.ts";
 * const options: SpawnServerOptions = { runtime: "node", port: 0 };
 * ```
 */
export interface SpawnServerOptions {
  /** The runtime to run the demo server on. */
  runtime: ServerRuntime;
  /** The port (default 0: any free port). */
  port?: number;
  /** Extra environment (`SOCKSYNC_STORE` defaults to `memory`). */
  env?: Record<string, string>;
  /** A custom command instead of {@linkcode serverCommand}. */
  command?: string[];
  /** How long to wait for the listening line, in ms (default 30,000). */
  timeout?: number;
}

/**
 * A running demo server process.
 *
 * @example
 * ```ts
 * import { spawnServer } from "./spawn_server.ts";
 * const server = await spawnServer({ runtime: "node" });
 * try {
 *   console.log(server.url, server.wsUrl);
 * } finally {
 *   await server.stop();
 * }
 * ```
 */
export interface SpawnedServer {
  /** The child process. */
  readonly process: ChildProcess;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `ws://127.0.0.1:PORT/ws/socksync`. */
  readonly wsUrl: string;
  /** The port it listens on. */
  readonly port: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal (default SIGTERM) and resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the demo server and resolves once it printed its "listening on"
 * line; rejects with its output if it exits or stays silent too long.
 *
 * @example
 * ```ts
 * import { spawnServer } from "./spawn_server.ts";
 * const server = await spawnServer({ runtime: "deno", env: { SOCKSYNC_STORE: "memory" } });
 * await server.stop();
 * ```
 */
export function spawnServer(
  options: SpawnServerOptions,
): Promise<SpawnedServer> {
  const [command, ...args] = options.command ?? serverCommand(options.runtime);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      SOCKSYNC_STORE: "memory",
      HOST: "127.0.0.1",
      PORT: String(options.port ?? 0),
      NO_COLOR: "1",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => {
    child.once(
      "exit",
      (code, signal) => resolve(code ?? (signal ? null : code)),
    );
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${options.runtime} server did not start:\n${output}`));
    }, options.timeout ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const url = match[1];
      const port = Number(new URL(url).port);
      resolvePromise({
        process: child,
        url,
        port,
        wsUrl: `ws://127.0.0.1:${port}/ws/socksync`,
        output: () => output,
        async stop(signal = "SIGTERM") {
          if (child.exitCode !== null || child.signalCode !== null) {
            return await exited;
          }
          child.kill(signal);
          const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          const code = await exited;
          clearTimeout(killer);
          return code;
        },
      });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`${options.runtime} server exited with ${code}:\n${output}`),
      );
    });
  });
}
