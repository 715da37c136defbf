/**
 * A DOM-less node tree, just enough for Vue's custom renderer and React
 * DOM's root to render into under Node, Deno and Bun (none has a DOM). The
 * binding tests read what a component shows from its text.
 *
 * @module
 */

/**
 * One node: an element, a text, a comment or the document.
 *
 * @example
 * ```ts
 * import { createDocument } from "./tiny_dom.ts";
 * const doc = createDocument();
 * const ul = doc.createElement("ul");
 * ul.appendChild(doc.createTextNode("hi"));
 * console.log(ul.textContent); // "hi"
 * ```
 */
export class TinyNode {
  /** 1 element, 3 text, 8 comment, 9 document. */
  readonly nodeType: number;
  /** The upper-case tag name, or `#text`, `#comment`, `#document`. */
  readonly nodeName: string;
  /** The document that made it. */
  ownerDocument: TinyDocument | null;
  /** Its children, in order. */
  childNodes: TinyNode[] = [];
  /** Its parent, if attached. */
  parentNode: TinyNode | null = null;
  /** Its attributes. */
  readonly attributes: Record<string, string> = {};
  /** Its inline style (React writes to it). */
  readonly style: Record<string, string> = {};
  /** A text's or comment's text. */
  nodeValue: string | null = null;

  constructor(nodeType: number, nodeName: string, ownerDocument: TinyDocument | null) {
    this.nodeType = nodeType;
    this.nodeName = nodeName;
    this.ownerDocument = ownerDocument;
  }

  /** Same as `nodeName`. */
  get tagName(): string {
    return this.nodeName;
  }

  /** Always HTML. */
  get namespaceURI(): string {
    return "http://www.w3.org/1999/xhtml";
  }

  /** The first child, if any. */
  get firstChild(): TinyNode | null {
    return this.childNodes[0] ?? null;
  }

  /** The last child, if any. */
  get lastChild(): TinyNode | null {
    return this.childNodes.at(-1) ?? null;
  }

  /** The next sibling, if any. */
  get nextSibling(): TinyNode | null {
    const parent = this.parentNode;
    return parent ? parent.childNodes[parent.childNodes.indexOf(this) + 1] ?? null : null;
  }

  /** Appends a child (moving it from its old parent). */
  appendChild(child: TinyNode): TinyNode {
    return this.insertBefore(child, null);
  }

  /** Inserts a child before `ref` (at the end without one). */
  insertBefore(child: TinyNode, ref: TinyNode | null): TinyNode {
    child.parentNode?.removeChild(child);
    child.parentNode = this;
    const at = ref ? this.childNodes.indexOf(ref) : -1;
    if (at < 0) this.childNodes.push(child);
    else this.childNodes.splice(at, 0, child);
    return child;
  }

  /** Removes a child. */
  removeChild(child: TinyNode): TinyNode {
    this.childNodes.splice(this.childNodes.indexOf(child), 1);
    child.parentNode = null;
    return child;
  }

  /** The text of the node and everything below it. */
  get textContent(): string {
    if (this.nodeType === 3) return this.nodeValue ?? "";
    if (this.nodeType === 8) return "";
    return this.childNodes.map((child) => child.textContent).join("");
  }

  set textContent(text: string) {
    if (this.nodeType === 3 || this.nodeType === 8) {
      this.nodeValue = text;
      return;
    }
    for (const child of [...this.childNodes]) this.removeChild(child);
    if (text) this.appendChild(this.ownerDocument!.createTextNode(text));
  }

  /** Sets an attribute. */
  setAttribute(name: string, value: string): void {
    this.attributes[name] = String(value);
  }

  /** Removes an attribute. */
  removeAttribute(name: string): void {
    delete this.attributes[name];
  }

  /** Events never fire here: the tests call the bindings' functions directly. */
  addEventListener(): void {}

  /** See {@linkcode TinyNode.addEventListener}. */
  removeEventListener(): void {}

  /** The texts of the elements below with this `data-testid`, in order. */
  texts(testid: string): string[] {
    const found: string[] = [];
    const walk = (node: TinyNode) => {
      if (node.attributes["data-testid"] === testid) found.push(node.textContent);
      node.childNodes.forEach(walk);
    };
    walk(this);
    return found;
  }
}

/**
 * The document: makes nodes.
 *
 * @example
 * ```ts
 * import { createDocument } from "./tiny_dom.ts";
 * const root = createDocument().createElement("div");
 * ```
 */
export class TinyDocument extends TinyNode {
  /** What React DOM looks up as the window. */
  readonly defaultView: Record<string, unknown>;
  /** No focus here. */
  readonly activeElement = null;
  /** No body here. */
  readonly body = null;

  constructor() {
    super(9, "#document", null);
    this.ownerDocument = this;
    this.defaultView = { document: this, HTMLIFrameElement: class {}, event: undefined };
  }

  /** A new element. */
  createElement(tag: string): TinyNode {
    return new TinyNode(1, tag.toUpperCase(), this);
  }

  /** A new element (the namespace is ignored). */
  createElementNS(_namespace: string, tag: string): TinyNode {
    return this.createElement(tag);
  }

  /** A new text node. */
  createTextNode(text: string): TinyNode {
    const node = new TinyNode(3, "#text", this);
    node.nodeValue = text;
    return node;
  }

  /** A new comment. */
  createComment(text: string): TinyNode {
    const node = new TinyNode(8, "#comment", this);
    node.nodeValue = text;
    return node;
  }
}

/**
 * A new document.
 *
 * @example
 * ```ts
 * import { createDocument } from "./tiny_dom.ts";
 * const doc = createDocument();
 * ```
 */
export function createDocument(): TinyDocument {
  return new TinyDocument();
}
