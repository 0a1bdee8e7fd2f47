/**
 * Per-item correctness packed one bit per item, least significant bit first: item i is bit (i % 8) of byte
 * floor(i / 8). The worker sends it this way (EvaluateResult's TaskMetrics.item_correct) and the store keeps it so.
 */

/** Packs booleans (or 0/1) into bytes. */
export function packItemBits(correct: readonly (boolean | number)[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(correct.length / 8));
  correct.forEach((c, i) => {
    if (c) out[i >> 3] |= 1 << (i & 7);
  });
  return out;
}

/** Unpacks `n` items into 0/1 values; throws when the bytes hold fewer than `n` bits. */
export function unpackItemBits(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length * 8 < n || bytes.length > Math.ceil(n / 8)) {
    throw new RangeError(`${bytes.length} bytes cannot hold exactly ${n} items`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (i & 7)) & 1;
  return out;
}
