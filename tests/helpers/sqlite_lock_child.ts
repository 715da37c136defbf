/**
 * Run as a child process by tests/store_sqlite_test.ts: holds an exclusive
 * lock on the SQLite file named by its argument (as a process setting up the
 * same new file does), prints "locked", lets go after 300 ms and exits.
 *
 * @module
 */
import process from "node:process";
import { openSqliteDriver } from "../../stores/sqlite/driver.ts";

const db = await openSqliteDriver(process.argv[process.argv.length - 1]);
db.exec("BEGIN EXCLUSIVE");
db.exec("CREATE TABLE held (x)");
process.stdout.write("locked\n");
await new Promise((resolve) => setTimeout(resolve, 300));
db.exec("COMMIT");
db.close();
