/**
 * The import of an optional driver package a store entry point needs, with
 * an error that names the package and the command that installs it.
 *
 * @module
 */

/**
 * An optional driver package a store entry point needs.
 */
export interface DriverNeed {
  /** The entry point that needs it, e.g. `socksync/stores/redis`. */
  entry: string;
  /** The npm package, e.g. `ioredis`. */
  pkg: string;
  /** The version range to install, e.g. `12` for `better-sqlite3@12` (default: none). */
  version?: string;
  /** What would do instead, e.g. `node:sqlite (Deno, Bun, Node >= 22.13)`. */
  otherwise?: string;
}

/**
 * The command that installs a package with this runtime's package manager.
 */
export function installCommand(spec: string): string {
  const runtime = globalThis as { Deno?: unknown; Bun?: unknown };
  if (runtime.Bun !== undefined) return `bun add ${spec}`;
  if (runtime.Deno !== undefined) return `deno add npm:${spec}`;
  return `npm install ${spec}`;
}

/**
 * The error for a driver package that could not be loaded: it names the
 * entry point, the package and the command that installs it, and keeps the
 * loader's error as `cause` (its first line in the message).
 */
export function missingDriver(need: DriverNeed, cause: unknown): Error {
  const spec = need.version ? `${need.pkg}@${need.version}` : need.pkg;
  const either = need.otherwise ? `${need.otherwise} or ` : "";
  const why = (cause instanceof Error ? cause.message : String(cause)).split("\n")[0];
  const error = new Error(
    `${need.entry} needs ${either}the ${need.pkg} package: ${installCommand(spec)}` +
      ` (loading it failed: ${why})`,
    { cause },
  );
  error.name = "MissingDriverError";
  return error;
}

/**
 * Whether `error` is {@linkcode missingDriver}'s.
 */
export function isMissingDriver(error: unknown): error is Error {
  return error instanceof Error && error.name === "MissingDriverError";
}

/**
 * Loads an optional driver package with `load` (a dynamic `import`), and
 * turns a failure into {@linkcode missingDriver}'s error instead of the
 * resolver's stack trace.
 */
export async function importDriver<M>(need: DriverNeed, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (error) {
    throw missingDriver(need, error);
  }
}
