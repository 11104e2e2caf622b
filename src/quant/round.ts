const ROUNDING_MAGIC = 6755399441055744; // 1.5 * 2^52: adding it leaves no fraction bits, so the FPU rounds half to even

/**
 * Round half to even, as torch.round and numpy.round do (Math.round rounds half up).
 * Exact for |value| < 2^51, which covers every scaled weight and activation.
 */
export function roundHalfEven(value: number): number {
  if (!(Math.abs(value) < 2 ** 51)) return value;
  return value + ROUNDING_MAGIC - ROUNDING_MAGIC;
}

/** Round half away from zero, as C's lroundf (ggml's quantizers) does. */
export function roundHalfAway(value: number): number {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

export function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

/** The float32 value of a float64 constant, as PyTorch sees a Python float in a float32 op. */
export const f32 = Math.fround;
