import { createElement as h } from "react";
import { useConnection } from "socksync/react";
import { connectionLabel } from "./connection_label.ts";

export function ConnectionBadge() {
  const connection = useConnection(); // a snapshot; the component re-renders on every change
  return h("span", { title: connection.lastDisconnect?.reason ?? "" }, connectionLabel(connection));
}
