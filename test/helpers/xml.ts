/**
 * A small strict XML reader for tests: enough to prove junit.xml (and report.html, written as
 * well-formed XML) are well-formed, and to assert on decoded attributes and text instead of on raw bytes.
 */
import assert from 'node:assert/strict';

export type XmlNode = XmlElement | string;
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  content: XmlNode[];
}

export const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeXml(s: string, where: number): string {
  return s.replace(/&([^;&<\s]*)(;?)/g, (m, ref: string, semi: string) => {
    if (!semi) throw new Error(`bare & at ${where}: ${JSON.stringify(s.slice(0, 80))}`);
    if (ref in ENTITIES) return ENTITIES[ref]!;
    const num = /^#(\d+)$/.exec(ref)?.[1] ?? (/^#x([0-9a-fA-F]+)$/.exec(ref) ? parseInt(ref.slice(2), 16) : undefined);
    if (num === undefined) throw new Error(`unknown entity ${m} at ${where}`);
    const ch = String.fromCodePoint(Number(num));
    if (NOT_XML_CHAR.test(ch)) throw new Error(`reference to an illegal character ${m} at ${where}`);
    return ch;
  });
}

export function parseXml(src: string): XmlElement {
  const bad = NOT_XML_CHAR.exec(src);
  if (bad) throw new Error(`illegal XML character U+${bad[0].codePointAt(0)!.toString(16)} at ${bad.index}`);
  const doc: XmlElement = { name: '#document', attrs: {}, content: [] };
  const stack = [doc];
  const openTag = /<([A-Za-z][\w.:-]*)((?:\s+[A-Za-z_:][\w.:-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  const closeTag = /<\/([A-Za-z][\w.:-]*)\s*>/y;
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const text = src.slice(i, lt < 0 ? src.length : lt);
    if (text.includes(']]>')) throw new Error(`"]]>" in text at ${i}`);
    if (text) stack.at(-1)!.content.push(decodeXml(text, i));
    if (lt < 0) break;
    const skipTo = (end: string) => {
      const e = src.indexOf(end, lt);
      if (e < 0) throw new Error(`unterminated markup at ${lt}`);
      return e + end.length;
    };
    if (src.startsWith('<?', lt)) i = skipTo('?>');
    else if (src.startsWith('<!--', lt)) i = skipTo('-->');
    else if (/^<!doctype /i.test(src.slice(lt, lt + 10))) i = skipTo('>');
    else if (src.startsWith('</', lt)) {
      closeTag.lastIndex = lt;
      const m = closeTag.exec(src);
      if (!m) throw new Error(`malformed end tag at ${lt}: ${src.slice(lt, lt + 60)}`);
      const open = stack.pop();
      if (!open || open === doc || open.name !== m[1]) throw new Error(`</${m[1]}> at ${lt} closes <${open?.name}>`);
      i = lt + m[0].length;
    } else {
      openTag.lastIndex = lt;
      const m = openTag.exec(src);
      if (!m) throw new Error(`malformed tag at ${lt}: ${src.slice(lt, lt + 60)}`);
      const el: XmlElement = { name: m[1]!, attrs: {}, content: [] };
      for (const a of m[2]!.matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*"([^"<]*)"/g)) {
        if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]} at ${lt}`);
        el.attrs[a[1]!] = decodeXml(a[2]!.replace(/[\t\n\r]/g, ' '), lt); // attribute-value normalization
      }
      stack.at(-1)!.content.push(el);
      if (!m[3]) stack.push(el);
      i = lt + m[0].length;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  const roots = doc.content.filter((n): n is XmlElement => typeof n !== 'string');
  if (roots.length !== 1) throw new Error(`${roots.length} root elements`);
  if (doc.content.some((n) => typeof n === 'string' && n.trim())) throw new Error('text outside the root element');
  return roots[0]!;
}

export const elements = (el: XmlElement) => el.content.filter((n): n is XmlElement => typeof n !== 'string');
export function findAll(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  return elements(el).flatMap((c) => [...(pred(c) ? [c] : []), ...findAll(c, pred)]);
}
export function findOne(el: XmlElement, pred: (e: XmlElement) => boolean, what: string): XmlElement {
  const found = findAll(el, pred);
  assert.equal(found.length, 1, `exactly one ${what}`);
  return found[0]!;
}
export const textOf = (el: XmlElement): string =>
  el.content.map((n) => (typeof n === 'string' ? n : textOf(n))).join('');
export const hasClass = (el: XmlElement, cls: string) => (el.attrs.class ?? '').split(/\s+/).includes(cls);
