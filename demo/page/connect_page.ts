/// <reference lib="dom" />
/**
 * What the `/vue/` and `/react/` demo pages share: the client, connected to
 * the server that served the page, and the status badge in the header.
 *
 * @module
 */
import { type Client, connect } from "../../src/client/client.ts";
import type { DemoApi } from "../app.ts";
import { showConnection } from "./status_badge.ts";

/** The todo of the demo's `todos` list. */
export interface Todo {
  /** What to do. */
  text: string;
  /** Whether it is done. */
  done: boolean;
}

/** The page sizes the pager offers. */
export const PAGE_SIZES: readonly number[] = [5, 10, 20, 50];

/**
 * Connects to `/ws/socksync` on this page's own host (the same origin) and
 * keeps the header's status badge current.
 */
export function connectPage(): Client<DemoApi> {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client = connect<DemoApi>(`${scheme}://${location.host}/ws/socksync`, {
    reconnect: { minDelay: 250, maxDelay: 5000 },
    limits: { callTimeout: 10_000 },
  });
  showConnection(client.connection, document.getElementById("status") as HTMLElement);
  return client;
}

/** The text shown for a failed call. */
export function failure(name: string, error: unknown): string {
  return `${name} failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** A chat message of the demo's `messages` list. */
export interface Message {
  /** The room it was posted in. */
  room: string;
  /** Who posted it. */
  author: string;
  /** What it says. */
  text: string;
  /** When it was posted, in ms since the epoch. */
  created_at: number;
}

/** The chat's rooms, one tab each. */
export const ROOMS: readonly string[] = ["general", "random"];

/** Messages per chat page. */
export const CHAT_PAGE_SIZE = 10;
