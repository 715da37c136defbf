/**
 * A Svelte 5 custom renderer (`svelte/renderer`) over the DOM-less node
 * tree of tiny_dom.ts, so that the Svelte binding tests mount compiled
 * components under Node, Deno and Bun (none has a DOM). Components compiled
 * with `experimental: { customRenderer: <this file> }` import it; the tests
 * pass it to `mount` as `renderer`.
 *
 * @module
 */
import { createRenderer } from "svelte/renderer";
import { createDocument, TinyNode } from "./tiny_dom.ts";

/** The document every node of this renderer comes from. */
export const doc = createDocument();

const TYPES: Record<number, "element" | "text" | "comment" | "fragment"> = {
  1: "element",
  3: "text",
  8: "comment",
  11: "fragment",
};

/** Inserts `node` (a fragment's children, for a fragment) before `anchor`. */
function insert(parent: TinyNode, node: TinyNode, anchor: TinyNode | null): void {
  if (node.nodeType !== 11) {
    parent.insertBefore(node, anchor);
    return;
  }
  for (const child of [...node.childNodes]) parent.insertBefore(child, anchor);
}

export default createRenderer<
  { fragment: TinyNode; element: TinyNode; text: TinyNode; comment: TinyNode }
>({
  createFragment: () => new TinyNode(11, "#document-fragment", doc),
  createElement: (name) => doc.createElement(name),
  createText: (data) => doc.createTextNode(data),
  createComment: (data) => doc.createComment(data),
  getNodeType: (node) => TYPES[node.nodeType],
  getText: (node) => node.nodeValue,
  getAttribute: (element, name) => element.attributes[name] ?? null,
  setAttribute: (element, name, value) => element.setAttribute(name, String(value)),
  removeAttribute: (element, name) => element.removeAttribute(name),
  hasAttribute: (element, name) => name in element.attributes,
  setText: (node, text) => void (node.nodeValue = text),
  getFirstChild: (node) => node.firstChild,
  getLastChild: (node) => node.lastChild,
  getNextSibling: (node) => node.nextSibling,
  insert,
  remove: (node) => void node.parentNode?.removeChild(node),
  getParent: (node) => node.parentNode,
  // Events never fire here: the tests call the bindings' functions directly.
  addEventListener: () => {},
  removeEventListener: () => {},
});
