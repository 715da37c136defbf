import type { ConnectionState } from "socksync";

// What a badge says; nothing is disabled offline: calls wait for the connection.
export function connectionLabel({ status, nextAttempt }: ConnectionState): string {
  if (status === "open") return "live";
  if (status === "reconnecting" && nextAttempt !== undefined) {
    return `offline: next try at ${new Date(nextAttempt).toLocaleTimeString()}`;
  }
  return status === "reconnecting" ? "reconnecting…" : status; // "connecting", "closed"
}
