/**
 * `socksync/protocol`: the wire format, for those who write a peer of their
 * own, a proxy or a protocol test. Applications need none of it: `socksync`
 * speaks it for them.
 *
 * - decoding and validating incoming frames: {@linkcode decodeFrame},
 *   {@linkcode decodeObject}, the valibot {@linkcode MessageSchemas} and the
 *   message types inferred from them;
 * - encoding every outgoing frame: `encodeSetAll`, `encodeInsert`,
 *   `encodeItemSet`, `encodeDelete`, `encodeSetCount`, `encodeVarSet`,
 *   `encodeCall`, `encodeReturn`, `encodeError`, `encodeSubscribe`,
 *   `encodeUnsubscribe`, `encodeGet`;
 * - the name of the idle probe ({@linkcode PROBE_NAME}) and the open
 *   `readyState` ({@linkcode OPEN}).
 *
 * @example
 * ```ts
 * import { decodeFrame, encodeSubscribe } from "./mod.ts";
 * const decoded = decodeFrame(encodeSubscribe("var", "counter"));
 * if (decoded.ok) console.log(decoded.message.func); // "subscribe"
 * ```
 *
 * @module
 */
export { type Decoded, decodeFrame, decodeObject, type ErrorFrame, errorFrame } from "./decode.ts";
export { type Message, type MessageMap, MessageSchemas, type MessageWithFunc } from "./schemas.ts";
export {
  encodeCall,
  encodeDelete,
  encodeError,
  encodeGet,
  encodeInsert,
  encodeItemSet,
  encodeReturn,
  encodeSetAll,
  encodeSetCount,
  encodeSubscribe,
  encodeUnsubscribe,
  encodeVarSet,
  type ErrorFields,
  type InsertFields,
  type ListParams,
  type RequestFields,
  type SetAllFields,
} from "./encode.ts";
export { OPEN, PROBE_NAME } from "./connection.ts";
export { AUTH_CLOSE, AUTH_CLOSE_REASON, AUTH_NAME, type AuthReturn } from "./auth.ts";
