/// <reference lib="dom" />
/**
 * What the `/vue/`, `/react/` and `/svelte/` demo pages share: the client,
 * connected to the server that served the page, the status badge in the
 * header, and the note each page shows through its binding's
 * `useConnection` while the connection is not open.
 *
 * @module
 */
import { type Client, connect } from "../../src/client/client.ts";
import { optimisticCalls } from "../../src/client/optimistic.ts";
import { socketAuth } from "../../src/client/auth.ts";
import type { DemoApi } from "../app.ts";
import type { ConnectionState } from "../../src/client/state.ts";
import { showConnection } from "./status_badge.ts";
import { pageSession } from "./notes.ts";

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
 * keeps the header's status badge current; a sign-in on the page (see
 * `notes.ts`) authenticates it.
 */
export function connectPage(): Client<DemoApi> {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client = connect<DemoApi>(`${scheme}://${location.host}/ws/socksync`, {
    reconnect: { minDelay: 250, maxDelay: 5000 },
    limits: { callTimeout: 10_000 },
    // The token of a sign-in on this page (the Notes card); before one, the session cookie counts.
    auth: () => pageSession.token,
    socketAuth,
    // The binding pages show their calls' changes before the reply.
    optimisticCalls,
  });
  showConnection(client.connection, document.getElementById("status") as HTMLElement);
  return client;
}

/**
 * The note a page shows while its connection is not open ("" while open).
 * Nothing is disabled: calls made offline wait for the connection.
 */
export function connectionNote(state: ConnectionState): string {
  const why = state.lastDisconnect;
  const last = why ? ` (last disconnect: ${`${why.code} ${why.reason}`.trim()})` : "";
  switch (state.status) {
    case "open":
      return "";
    case "connecting":
      return "Connecting…";
    case "reconnecting":
      return `Offline, reconnecting${last}: what you do now is sent once it is back.`;
    case "closed":
      return `Connection closed${last}.`;
  }
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

/** A note of the demo's `my_notes` list. */
export interface Note {
  /** What it says. */
  text: string;
  /** When it was written, in ms since the epoch. */
  created_at: number;
}

/** Notes per page of the Notes card. */
export const NOTES_PAGE_SIZE = 20;
