import type { Api } from './api.ts';

/** What every page gets: the API, navigation and a way to tell the user something happened. */
export interface Ctx {
  api: Api;
  navigate(hash: string): void;
  toast(message: string): void;
  /** Re-read the current page now (after a change, or when a control changes what it shows). */
  refresh(): void;
}

/** A page: its element, an optional `refresh` the poller calls every few seconds, and cleanup. */
export interface Page {
  title: string;
  el: HTMLElement;
  refresh?: () => Promise<void>;
  dispose?: () => void;
}

export type PageFactory = (ctx: Ctx, params: readonly string[]) => Page;

/** The message to show for a failed call. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
