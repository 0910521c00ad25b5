/** A trailing release date: `-2024-08-06`, `-20240806` or Vertex's `@20240620`. */
const DATE_SUFFIX = /[-@](?:\d{4}-\d{2}-\d{2}|\d{8})$/;

/**
 * Names an override may be written under for a span's model, most specific first: the model
 * itself (lowercase, trimmed), without a vendor prefix (`openai/gpt-4o` → `gpt-4o`,
 * `models/gemini-2.5-pro`), and without a trailing release date (`gpt-4o-2024-08-06` → `gpt-4o`).
 */
export function overrideModelNames(model: string): string[] {
  const exact = model.trim().toLowerCase();
  const names = [exact];
  const bare = exact.slice(exact.lastIndexOf('/') + 1);
  if (bare !== exact && bare !== '') names.push(bare);
  const undated = bare.replace(DATE_SUFFIX, '');
  if (undated !== bare && undated !== '') names.push(undated);
  return names;
}
