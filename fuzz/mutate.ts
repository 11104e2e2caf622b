import type { SeededRandom } from '../src/util/random.js';

const BYTE_VALUES = [0x00, 0x01, 0x7f, 0x80, 0xff];
const U32_VALUES = [0, 1, 2, 3, 255, 256, 0x7fffffff, 0x80000000, 0xffffffff];
const U64_VALUES = [0n, 1n, 2n ** 31n, 2n ** 32n, 2n ** 40n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];

/** Where a byte mutation lands: mostly in the first `hot` bytes (headers, where the structure is). */
function offset(rng: SeededRandom, length: number, hot: number): number {
  return rng.next() < 0.8 ? rng.int(Math.min(hot, length)) : rng.int(length);
}

/** One to four structure-blind mutations: bit flips, boundary bytes, u32/u64 counts, truncation, splices. */
export function mutateBytes(rng: SeededRandom, input: Uint8Array, hot: number): Uint8Array {
  let b = input.slice();
  const steps = 1 + rng.int(4);
  for (let s = 0; s < steps && b.length > 0; s++) {
    const at = offset(rng, b.length, hot);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    switch (rng.int(7)) {
      case 0:
        b[at] = (b[at] as number) ^ (1 << rng.int(8));
        break;
      case 1:
        b[at] = BYTE_VALUES[rng.int(BYTE_VALUES.length)] as number;
        break;
      case 2:
        if (at + 4 <= b.length) view.setUint32(at, U32_VALUES[rng.int(U32_VALUES.length)] as number, true);
        break;
      case 3:
        if (at + 8 <= b.length) view.setBigUint64(at, U64_VALUES[rng.int(U64_VALUES.length)] as bigint, true);
        break;
      case 4:
        b = b.slice(0, at);
        break;
      case 5: {
        const len = 1 + rng.int(64);
        const chunk = b.slice(at, at + len);
        const out = new Uint8Array(b.length + chunk.length);
        out.set(b.subarray(0, at));
        out.set(chunk, at);
        out.set(b.subarray(at), at + chunk.length);
        b = out;
        break;
      }
      default:
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
    }
  }
  return b;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const HOSTILE_STRINGS = ['', 'x', '../../../../../../etc/passwd', '/dev/zero', '/etc/passwd', 'NaN', '-1', '1e309', '__proto__', '\u0000', '🦙'.repeat(3)];
const HOSTILE_NUMBERS = [0, -1, 1, 0.5, -0.5, 2, 3, 7, 255, 256, 65536, 1e9, 2 ** 31, 2 ** 53, 1e308, -1e308, Number.MIN_VALUE];

/** A placeholder for a deeply nested value, expanded in the text (JSON.stringify itself would recurse that deep). */
const DEEP = '\u0001deep:';

function expandDeep(text: string): string {
  return text.replace(/"\\u0001deep:(\d+)"/g, (_m, n: string) => '[{"a":'.repeat(Number(n)) + '1' + '}]'.repeat(Number(n)));
}

function hostileValue(rng: SeededRandom, like: Json): Json {
  switch (rng.int(9)) {
    case 0:
      return null;
    case 1:
      return HOSTILE_NUMBERS[rng.int(HOSTILE_NUMBERS.length)] as number;
    case 2:
      return HOSTILE_STRINGS[rng.int(HOSTILE_STRINGS.length)] as string;
    case 3:
      return typeof like === 'number' ? ([-like, like * 2, like + 1, like - 1, Math.round(like * 1000)][rng.int(5)] as number) : rng.next() < 0.5;
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return 'z'.repeat(rng.int(100_000));
    case 7:
      return `${DEEP}${rng.next() < 0.2 ? 50_000 : 1 + rng.int(200)}`;
    default:
      return Array.isArray(like) ? [...like, ...like] : [like];
  }
}

/** Every container of a JSON value with the key (or index) of each child, for picking one at random. */
function slots(value: Json, out: [Json[] | { [key: string]: Json }, string | number][] = [], depth = 0): typeof out {
  if (depth > 64 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      slots(v, out, depth + 1);
    });
  } else {
    for (const [k, v] of Object.entries(value)) {
      out.push([value, k]);
      slots(v, out, depth + 1);
    }
  }
  return out;
}

/** An own property even for `__proto__`, so it reaches the text. */
function set(target: Record<string | number, Json>, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** One to three structure-aware mutations of a JSON document, or (one case in eight) a damaged text. */
export function mutateJson(rng: SeededRandom, text: string): string {
  if (rng.next() < 0.125) return new TextDecoder().decode(mutateBytes(rng, new TextEncoder().encode(text), text.length));
  const doc = JSON.parse(text) as Json;
  const root: { [key: string]: Json } = { root: doc };
  const steps = 1 + rng.int(3);
  for (let s = 0; s < steps; s++) {
    const all = slots(root);
    const [parent, key] = all[rng.int(all.length)] as [Record<string | number, Json>, string | number];
    const action = rng.int(6);
    if (action === 0 && !Array.isArray(parent) && key !== 'root') delete parent[key];
    else if (action === 1 && !Array.isArray(parent))
      set(parent, ['__proto__', 'constructor', 'prototype', 'extra'][rng.int(4)] as string, hostileValue(rng, null));
    else set(parent, key, hostileValue(rng, parent[key] as Json));
  }
  return expandDeep(JSON.stringify(root.root));
}
