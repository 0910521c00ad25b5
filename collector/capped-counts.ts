// Counters labelled by text a client chooses (model names, usage attribute names, rejection reasons, token names).
// A sender inventing a new name per span must not grow the collector's memory, its log or the stats it flushes:
// each counter holds a fixed number of labels and sums every later one under `(other)`.

/** The label every label past a counter's cap is summed under. */
export const OTHER_LABEL = '(other)';

/** Model names held per counter, and model series shown on /metrics: the first ones seen, in the order seen. */
export const MAX_SENDER_LABELS = 100;

/** Labels held by the other counters (attribute names, reasons, token names). */
export const MAX_LABELS = 1000;

/** Longest label held: a model name is span text of any length, a label is for a person to read. */
export const MAX_LABEL_LENGTH = 256;

/**
 * What one count did: `new` held a label not seen before, `seen` added to a held one, `first_overflow` started
 * `(other)` (the counter had just reached its cap), `overflow` added to `(other)`.
 */
export type Counted = 'new' | 'seen' | 'first_overflow' | 'overflow';

/** Adds `by` under `label`, holding at most `cap` labels (`(other)` aside); says which of the four it did. */
export function bump(counts: Record<string, number>, label: string, by = 1, cap = MAX_LABELS): Counted {
  const seen = Object.hasOwn(counts, label) ? counts[label] : undefined;
  if (seen !== undefined) {
    counts[label] = seen + by;
    return 'seen';
  }
  // Once `(other)` exists the counter is full: no need to count its labels again (that costs a pass over them).
  const other = counts[OTHER_LABEL];
  if (other === undefined && Object.keys(counts).length < cap) {
    counts[label] = by;
    return 'new';
  }
  counts[OTHER_LABEL] = (other ?? 0) + by;
  return other === undefined ? 'first_overflow' : 'overflow';
}

/** `text` cut to the longest label held (never between the two halves of a surrogate pair). */
export function labelText(text: string): string {
  if (text.length <= MAX_LABEL_LENGTH) return text;
  const last = text.charCodeAt(MAX_LABEL_LENGTH - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_LABEL_LENGTH - 1 : MAX_LABEL_LENGTH);
}
