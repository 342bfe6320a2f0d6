/**
 * The subset of Python's `ast.literal_eval` that Ansible's INI plugin applies to every `key=value`
 * value, so that an inventory moved over from Ansible yields the same types: `22` is a number,
 * `True` a boolean, `'22'` a string, `80,443` a list, `[1, 2]` a list, `{'a': 1}` an object.
 * Anything that is not a literal (`dr`, `172.25.7.200`, `10-5`, `true`) stays the raw string.
 */
export function parsePyLiteral(text: string): unknown {
  const p = new Parser(text.replace(/^[ \t]+/, ''));
  try {
    const value = p.topLevel();
    return value === undefined ? text : value;
  } catch (e) {
    if (e instanceof NotLiteral) return text;
    throw e;
  }
}

class NotLiteral extends Error {}

const STOP = new NotLiteral();
const fail = (): never => {
  throw STOP;
};

// Python 3 numeric literal grammar (underscores between digits, no leading zeros on non-zero ints).
const DIGITS = String.raw`\d(?:_?\d)*`;
const EXP = String.raw`[eE][+-]?${DIGITS}`;
const FLOAT = new RegExp(
  String.raw`^(?:${DIGITS}\.(?:${DIGITS})?(?:${EXP})?|\.${DIGITS}(?:${EXP})?|${DIGITS}${EXP})`,
);
const INT = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Python's parser gives up on deeper nesting too; past it the value stays the raw string. */
const MAX_DEPTH = 100;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  private nested(open: string): unknown {
    if (++this.depth > MAX_DEPTH) fail();
    try {
      return open === '[' ? this.sequence('[', ']') : open === '(' ? this.paren() : this.braces();
    } finally {
      this.depth--;
    }
  }

  /** A whole expression; a bare `a, b` is a tuple, as in Python's eval mode. */
  topLevel(): unknown {
    this.skip();
    if (this.i >= this.s.length) fail();
    const first = this.value();
    this.skip();
    if (this.peek() !== ',') {
      if (this.i < this.s.length) fail();
      return first;
    }
    const items = [first];
    while (this.eat(',')) {
      this.skip();
      if (this.i >= this.s.length) break;
      items.push(this.value());
      this.skip();
    }
    if (this.i < this.s.length) fail();
    return items;
  }

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  private eat(c: string): boolean {
    if (this.s[this.i] === c) {
      this.i++;
      return true;
    }
    return false;
  }

  /** Whitespace and `#` comments, which literal_eval ignores. */
  private skip(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.i++;
      else if (c === '#') {
        const nl = this.s.indexOf('\n', this.i);
        this.i = nl < 0 ? this.s.length : nl;
      } else return;
    }
  }

  private value(): unknown {
    this.skip();
    const c = this.peek();
    if (c === '[' || c === '(' || c === '{') return this.nested(c);
    if (c === '+' || c === '-') {
      this.i++;
      this.skip();
      const n = this.number();
      if (n === undefined) fail();
      return c === '-' ? -(n as number) : n;
    }
    const n = this.number();
    if (n !== undefined) return n;
    const str = this.strings();
    if (str !== undefined) return str;
    const name = NAME.exec(this.s.slice(this.i));
    if (name) {
      this.i += name[0].length;
      if (name[0] === 'True') return true;
      if (name[0] === 'False') return false;
      if (name[0] === 'None') return null;
    }
    return fail();
  }

  private number(): number | undefined {
    const rest = this.s.slice(this.i);
    const f = FLOAT.exec(rest);
    const m = f ?? INT.exec(rest);
    if (!m) return undefined;
    const after = rest[m[0].length] ?? '';
    // `1j` is complex, `0777` is a Python 3 syntax error, `1x` is not a number: none is a literal.
    if (/[A-Za-z0-9_.]/.test(after)) fail();
    this.i += m[0].length;
    const lit = m[0].replace(/_/g, '');
    if (f) return Number(lit);
    const radix = /^0[xX]/.test(lit) ? 16 : /^0[oO]/.test(lit) ? 8 : /^0[bB]/.test(lit) ? 2 : 10;
    const n = radix === 10 ? Number(lit) : parseInt(lit.slice(2), radix);
    // Python ints are exact; a JS number past 2^53 is not, so such a value stays a string.
    if (!Number.isSafeInteger(n)) fail();
    return n;
  }

  /** One or more adjacent string literals, concatenated as Python does. */
  private strings(): string | undefined {
    let out: string | undefined;
    for (;;) {
      const save = this.i;
      this.skip();
      const m = /^([rRbBuU]|[rR][bB]|[bB][rR])?(['"])/.exec(this.s.slice(this.i));
      if (!m) {
        this.i = save;
        return out;
      }
      const raw = /[rR]/.test(m[1] ?? '');
      this.i += m[0].length;
      out = (out ?? '') + this.stringBody(m[2]!, raw);
    }
  }

  private stringBody(q: string, raw: boolean): string {
    const triple = this.s.startsWith(q + q, this.i);
    if (triple) this.i += 2;
    const close = triple ? q + q + q : q;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) fail();
      if (this.s.startsWith(close, this.i)) {
        this.i += close.length;
        return out;
      }
      const c = this.s[this.i]!;
      if (c === '\n' && !triple) fail();
      if (c !== '\\') {
        out += c;
        this.i++;
        continue;
      }
      const n = this.s[this.i + 1];
      if (n === undefined) fail();
      if (raw) {
        out += c + n;
        this.i += 2;
        continue;
      }
      out += this.escape();
    }
  }

  private escape(): string {
    const n = this.s[this.i + 1]!;
    this.i += 2;
    const simple: Record<string, string> = {
      '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
    };
    if (n in simple) return simple[n]!;
    if (/[0-7]/.test(n)) {
      const m = /^[0-7]{0,2}/.exec(this.s.slice(this.i))![0];
      this.i += m.length;
      return String.fromCodePoint(parseInt(n + m, 8));
    }
    const width = n === 'x' ? 2 : n === 'u' ? 4 : n === 'U' ? 8 : 0;
    if (width) {
      const hex = this.s.slice(this.i, this.i + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) fail();
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) fail();
      this.i += width;
      return String.fromCodePoint(cp);
    }
    if (n === 'N') fail();
    // Python keeps unknown escapes as written.
    return '\\' + n;
  }

  private sequence(open: string, close: string): unknown[] {
    this.eat(open);
    const items: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.eat(close)) return items;
      items.push(this.value());
      this.skip();
      if (this.eat(close)) return items;
      if (!this.eat(',')) fail();
    }
  }

  /** `()` and `(a,)` are tuples (lists here); `(a)` is just `a`. */
  private paren(): unknown {
    this.eat('(');
    this.skip();
    if (this.eat(')')) return [];
    const first = this.value();
    this.skip();
    if (this.eat(')')) return first;
    if (!this.eat(',')) fail();
    const items = [first];
    for (;;) {
      this.skip();
      if (this.eat(')')) return items;
      items.push(this.value());
      this.skip();
      if (this.eat(')')) return items;
      if (!this.eat(',')) fail();
    }
  }

  /** `{k: v}` is a dict; `{a, b}` is a set, which Ansible turns into a list. */
  private braces(): unknown {
    this.eat('{');
    this.skip();
    if (this.eat('}')) return {};
    const first = this.value();
    this.skip();
    if (this.peek() !== ':') {
      const items = [first];
      for (;;) {
        this.skip();
        if (this.eat('}')) return dedupe(items);
        if (!this.eat(',')) fail();
        this.skip();
        if (this.eat('}')) return dedupe(items);
        items.push(this.value());
      }
    }
    const out: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      if (!this.eat(':')) fail();
      if (key !== null && typeof key === 'object') fail(); // lists and dicts are unhashable
      out[String(key === true ? 'True' : key === false ? 'False' : key === null ? 'None' : key)] = this.value();
      this.skip();
      if (this.eat('}')) return out;
      if (!this.eat(',')) fail();
      this.skip();
      if (this.eat('}')) return out;
      key = this.value();
      this.skip();
    }
  }
}

function dedupe(items: unknown[]): unknown[] {
  if (items.some((v) => v !== null && typeof v === 'object')) fail();
  return [...new Set(items)];
}
