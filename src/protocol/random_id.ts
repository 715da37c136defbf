/**
 * Random ids: of calls, and of a client's session.
 *
 * @module
 */

/**
 * A random id of 21 URL-safe characters (126 bits), in the format of
 * `nanoid()`: the first 21 characters of the base64url form of 16 random
 * bytes. Written out rather than taken from nanoid so that a browser bundle
 * carries no alphabet table (64 bytes gzip cannot shrink).
 */
export function randomId(): string {
  const base64 = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  return base64.slice(0, 21).replace(/\+/g, "-").replace(/\//g, "_");
}
