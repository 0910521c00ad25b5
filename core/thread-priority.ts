// Thread priorities as Linux nice values (-20 highest … 19 lowest). The gateway listener's thread keeps its
// priority and the process's other threads yield to it; the OS side (reading and setting them) is
// api/gateway-priority.ts.

/** The lowest priority (highest nice value) the OS accepts. */
export const MAX_NICE = 19;

/** The nice value of the threads beside the gateway worker: the worker's plus the configured offset, capped. */
export function backgroundNice(gatewayNice: number, offset: number): number {
  return Math.min(MAX_NICE, gatewayNice + Math.max(0, offset));
}

/**
 * The nice value to set on a thread now at `current` so it runs at `target` priority or lower, or undefined when it
 * already does: a thread's priority is only ever lowered (an unprivileged process could not raise it back).
 */
export function niceToLower(current: number, target: number): number | undefined {
  return current < target ? target : undefined;
}
