/**
 * The bucket writer's buffered rows as bytes (bucket-writer.ts): one byte arena for ids and score texts plus typed
 * arrays per row, so buffering a row allocates nothing. {@link RowBuffer.sorted} orders the rows by bucket slot (group,
 * then bucket) for the calls; {@link RespEncoder} writes a script call's RESP straight from the arena.
 */

/** Rows per buffer at most (row indices and offsets are 32-bit). */
export const MAX_BUFFER_ROWS = 2 ** 24;
/** Bucket slots (groups × buckets per group) a writer can address: slots are 32-bit. */
export const MAX_SLOTS = 2 ** 32;
const RADIX = 0x10000;

/**
 * Rows as records in one arena — `[id length][score length, 2 bytes LE][id][score text]` — and per row its bucket slot
 * and record offset. The calls read rows in bucket order, i.e. scattered over the arena: one record in one place costs
 * one cache miss per row where separate arrays per field cost one each.
 */
export class RowBuffer {
  private arena: Buffer;
  private used = 0;
  count = 0;
  private slotA: Uint32Array;
  private offA: Uint32Array;
  private slotB: Uint32Array;
  private offB: Uint32Array;
  private readonly histogram = new Uint32Array(RADIX + 1);

  /** `arenaBytes`: the records' bytes to allocate at first (the arena doubles when they need more). @default capacity × 28 */
  constructor(
    readonly capacity: number,
    arenaBytes = capacity * 28,
  ) {
    this.arena = Buffer.allocUnsafe(arenaBytes);
    this.slotA = new Uint32Array(capacity);
    this.offA = new Uint32Array(capacity);
    this.slotB = new Uint32Array(capacity);
    this.offB = new Uint32Array(capacity);
  }

  /** The arena (valid until the next push). */
  get bytes(): Buffer {
    return this.arena;
  }

  /**
   * Copy one row (id ≤ 255 bytes, score text ≤ 65 535 bytes) into the buffer under bucket slot `slot`; true when the
   * buffer is full.
   */
  push(src: Uint8Array, idStart: number, idEnd: number, valStart: number, valEnd: number, slot: number): boolean {
    const n = idEnd - idStart;
    const m = valEnd - valStart;
    if (this.used + n + m + 3 > this.arena.length) this.grow(n + m + 3);
    const a = this.arena;
    let p = this.used;
    const row = this.count++;
    this.slotA[row] = slot;
    this.offA[row] = p;
    a[p++] = n;
    a[p++] = m & 0xff;
    a[p++] = m >>> 8;
    for (let i = idStart; i < idEnd; i++) a[p++] = src[i]!;
    for (let i = valStart; i < valEnd; i++) a[p++] = src[i]!;
    this.used = p;
    return this.count >= this.capacity;
  }

  /**
   * Slots and record offsets of the rows ordered by slot, rows of one slot in the order they came: a
   * least-significant-digit radix sort over 16-bit digits (one pass, or two for slots ≥ 65 536), O(rows). Valid until
   * the next push or clear.
   */
  sorted(): { slots: Uint32Array; offsets: Uint32Array } {
    const n = this.count;
    let high = 0;
    for (let i = 0; i < n; i++) high |= this.slotA[i]!;
    this.countingPass(n, 0, this.slotA, this.offA, this.slotB, this.offB);
    if (high >>> 16 === 0) return { slots: this.slotB.subarray(0, n), offsets: this.offB.subarray(0, n) };
    this.countingPass(n, 16, this.slotB, this.offB, this.slotA, this.offA);
    return { slots: this.slotA.subarray(0, n), offsets: this.offA.subarray(0, n) };
  }

  private countingPass(
    n: number,
    shift: number,
    slots: Uint32Array,
    offs: Uint32Array,
    outSlots: Uint32Array,
    outOffs: Uint32Array,
  ): void {
    const h = this.histogram;
    h.fill(0);
    for (let k = 0; k < n; k++) h[((slots[k]! >>> shift) & 0xffff) + 1]!++;
    for (let d = 1; d <= RADIX; d++) h[d]! += h[d - 1]!;
    for (let k = 0; k < n; k++) {
      const slot = slots[k]!;
      const to = h[(slot >>> shift) & 0xffff]!++;
      outSlots[to] = slot;
      outOffs[to] = offs[k]!;
    }
  }

  clear(): void {
    this.count = 0;
    this.used = 0;
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + need));
    this.arena.copy(next, 0, 0, this.used);
    this.arena = next;
  }
}

/** A record's id and score text as latin1 strings (for clients that take string arguments). */
export function recordStrings(arena: Buffer, offset: number): [id: string, score: string] {
  const il = arena[offset]!;
  const vl = arena[offset + 1]! | (arena[offset + 2]! << 8);
  const s = offset + 3;
  return [arena.toString('latin1', s, s + il), arena.toString('latin1', s + il, s + il + vl)];
}

const CR = 13;
const LF = 10;
const DOLLAR = 36;

/** Writes RESP into a growable Buffer (ASCII digits and bulk strings). */
export class RespEncoder {
  buf: Buffer;
  pos: number;

  /** A buffer of at least `size` bytes (`reuse` when it is big enough), writing from `offset`. */
  constructor(size: number, offset = 0, reuse?: Buffer) {
    this.buf = reuse !== undefined && reuse.length >= size ? reuse : Buffer.allocUnsafe(size);
    this.pos = offset;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A non-negative integer's decimal digits. */
  digits(n: number): void {
    const b = this.buf;
    if (n < 10) {
      b[this.pos++] = 48 + n;
      return;
    }
    if (n < 100) {
      b[this.pos++] = 48 + ((n / 10) | 0);
      b[this.pos++] = 48 + (n % 10);
      return;
    }
    let len = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
    const end = this.pos + len;
    let p = end;
    let t = n;
    do {
      this.buf[--p] = 48 + (t % 10);
      t = Math.floor(t / 10);
    } while (t > 0);
    this.pos = end;
  }

  /** `$<len>\r\n` of a bulk string. */
  bulkHeader(len: number): void {
    this.buf[this.pos++] = DOLLAR;
    this.digits(len);
    this.buf[this.pos++] = CR;
    this.buf[this.pos++] = LF;
  }

  crlf(): void {
    this.buf[this.pos++] = CR;
    this.buf[this.pos++] = LF;
  }

  /** A bulk string of text (UTF-8). */
  bulkText(text: string): void {
    const len = Buffer.byteLength(text);
    this.ensure(len + 16);
    this.bulkHeader(len);
    this.pos += this.buf.write(text, this.pos, 'utf8');
    this.crlf();
  }

  /** A bulk string of an integer (negative allowed). */
  bulkInt(n: number): void {
    this.bulkText(String(n));
  }

  /** Raw bytes `src[start, end)` (the caller reserved room with ensure). */
  copy(src: Uint8Array, start: number, end: number): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = start; i < end; i++) b[p++] = src[i]!;
    this.pos = p;
  }

  /** `*<n>\r\n` followed by `$<len>\r\n<word>\r\n` items, as one ASCII string (for a command's fixed head). */
  static head(count: number, words: readonly string[]): Buffer {
    let s = `*${count}\r\n`;
    for (const w of words) s += `$${Buffer.byteLength(w)}\r\n${w}\r\n`;
    return Buffer.from(s, 'utf8');
  }
}

/** `n` (0 ≤ n < 100 000) as decimal digits at `b[p…]`; returns the next position. */
function writeSmall(b: Buffer, p: number, n: number): number {
  if (n >= 10) {
    if (n >= 100) {
      if (n >= 1000) {
        if (n >= 10_000) b[p++] = 48 + ((n / 10_000) | 0);
        b[p++] = 48 + (((n / 1000) | 0) % 10);
      }
      b[p++] = 48 + (((n / 100) | 0) % 10);
    }
    b[p++] = 48 + (((n / 10) | 0) % 10);
  }
  b[p++] = 48 + (n % 10);
  return p;
}

/**
 * The pairs `<id>`, `<prefix><score text>` of the records at `offsets[from, to)` as RESP bulk strings, appended to
 * `enc` (one pass to size the output, one to write it; locals only in the loop, which is the loader's hottest).
 */
export function encodeRowPairs(
  enc: RespEncoder,
  arena: Buffer,
  offsets: Uint32Array,
  from: number,
  to: number,
  prefix: Uint8Array,
): void {
  const pl = prefix.length;
  enc.ensure((to - from) * (pl + 64));
  let b = enc.buf;
  let p = enc.pos;
  for (let j = from; j < to; j++) {
    let s = offsets[j]!;
    const il = arena[s]!;
    const vl = arena[s + 1]! | (arena[s + 2]! << 8);
    s += 3;
    if (p + il + vl + pl + 25 > b.length) {
      enc.pos = p;
      enc.ensure(il + vl + pl + 25 + (to - j) * (pl + 25));
      b = enc.buf;
    }
    b[p++] = DOLLAR;
    p = writeSmall(b, p, il);
    b[p++] = CR;
    b[p++] = LF;
    for (const e = s + il; s < e; s++) b[p++] = arena[s]!;
    b[p++] = CR;
    b[p++] = LF;
    b[p++] = DOLLAR;
    p = writeSmall(b, p, pl + vl);
    b[p++] = CR;
    b[p++] = LF;
    for (let k = 0; k < pl; k++) b[p++] = prefix[k]!;
    for (const e = s + vl; s < e; s++) b[p++] = arena[s]!;
    b[p++] = CR;
    b[p++] = LF;
  }
  enc.pos = p;
}
