import { defineComponent, h } from "vue";
import { useConnection } from "socksync/vue";
import { connectionLabel } from "./connection_label.ts";

export const ConnectionBadge = defineComponent(() => {
  const connection = useConnection(); // reactive { status, attempt, nextAttempt, lastDisconnect }
  return () =>
    h("span", { title: connection.lastDisconnect?.reason ?? "" }, connectionLabel(connection));
});
