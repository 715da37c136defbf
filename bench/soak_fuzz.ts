/**
 * Soak fuzzing: runs `tests/fuzz_test.ts` (the same frame generator and the
 * same invariants as `npm test`) again and again, with many more frames per
 * round and a fresh random seed each time, on one or more runtimes, until
 * the time is up. A failing round prints its seed (replay it with
 * `SOCKSYNC_FUZZ_SEED=<seed>`) and writes its frames to
 * `data/soak_fuzz_<runtime>_<seed>.json`.
 *
 *   node --import tsx bench/soak_fuzz.ts [--runtimes node,deno,bun] [--frames 1000000] [--minutes 10]
 *
 * Exits with 1 if any round failed.
 */
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { ROOT, type Runtime } from "./lib.ts";

/** The command that runs the fuzz test once on a runtime. */
function command(runtime: Runtime): [string, string[]] {
  const bin = (name: string) => join(ROOT, "node_modules", ".bin", name);
  const file = "tests/fuzz_test.ts";
  switch (runtime) {
    case "deno":
      return [bin("deno"), ["test", "-A", file]];
    case "bun":
      return [bin("bun"), ["test", "--timeout", "0", file]];
    default:
      return [process.execPath, ["--import", "tsx", "--test", file]];
  }
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

/** One round: resolves whether it passed, with its output's last lines. */
function round(
  runtime: Runtime,
  frames: number,
  seed: number,
): Promise<{ ok: boolean; tail: string; seconds: number }> {
  const [cmd, args] = command(runtime);
  const started = Date.now();
  return new Promise((resolve) => {
    let out = "";
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        SOCKSYNC_FUZZ_FRAMES: String(frames),
        SOCKSYNC_FUZZ_SEED: String(seed),
        SOCKSYNC_FUZZ_DUMP: join(
          ROOT,
          "data",
          `soak_fuzz_${runtime}_${seed}.json`,
        ),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-20_000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("close", (code) => {
      const tail = out.split("\n").filter((line) => /fuzz:|fail|Error/.test(line))
        .slice(-8).join("\n");
      resolve({ ok: code === 0, tail, seconds: (Date.now() - started) / 1000 });
    });
  });
}

async function main(): Promise<void> {
  const runtimes = option("runtimes", "node,deno,bun").split(",") as Runtime[];
  const frames = Number(option("frames", "1000000"));
  const minutes = Number(option("minutes", "10"));
  const deadline = Date.now() + minutes * 60_000;
  mkdirSync(join(ROOT, "data"), { recursive: true });
  let total = 0;
  let failures = 0;
  let rounds = 0;
  do {
    for (const runtime of runtimes) {
      // Seeds fast-check accepts: 32-bit integers, never 0 (0 means "random").
      const seed = (Math.random() * 0x7fffffff | 0) || 1;
      const result = await round(runtime, frames, seed);
      rounds++;
      if (result.ok) total += frames;
      else failures++;
      console.log(
        `${runtime}: ${result.ok ? "ok" : "FAILED"} ${frames} frames, seed ${seed}, ${
          result.seconds.toFixed(1)
        } s (${Math.round(frames / result.seconds)} frames/s)`,
      );
      if (!result.ok) console.log(result.tail);
    }
  } while (Date.now() < deadline);
  console.log(
    `soak: ${rounds} rounds, ${total} frames passed, ${failures} failed rounds`,
  );
  process.exit(failures > 0 ? 1 : 0);
}

await main();
