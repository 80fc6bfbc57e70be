/** The p-th percentile of `xs` (nearest rank, p = 100 is the maximum); `xs` is left as it is. */
export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const median = (xs: readonly number[]) => percentile(xs, 50);
