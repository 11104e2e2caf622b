/**
 * Ternary values as 2-bit codes, 16 to an int32 (code = q + 1, the k-th value in bits 2(k mod 16)
 * of word k / 16): how a merged BitLinear with `packed` storage holds its weights in a tfjs
 * int32 variable (tfjs has no 8- or 2-bit tensors).
 */
export function packTernaryCodes(values: Int8Array): Int32Array {
  const words = new Int32Array(Math.ceil(values.length / 16));
  values.forEach((q, k) => (words[k >> 4] = (words[k >> 4] as number) | ((q + 1) << (2 * (k & 15)))));
  return words;
}

export function unpackTernaryCodes(words: Int32Array, count: number): Int8Array {
  const values = new Int8Array(count);
  for (let k = 0; k < count; k++) values[k] = (((words[k >> 4] as number) >>> (2 * (k & 15))) & 3) - 1;
  return values;
}
