// The one way the tools wait for a condition: poll it with a deadline, never a fixed sleep.
import { RolloutFailed } from './errors.js';

/**
 * Polls `probe` every 250 ms until it returns a value; throws `failure()` at the deadline. A
 * probe that throws RolloutFailed ends the wait; any other error (the edge not answering yet)
 * counts as "not yet", and is named at the deadline.
 */
export async function until<T>(
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  failure: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (err instanceof RolloutFailed) throw err;
      lastError = String((err as Error).message);
    }
    if (Date.now() > deadline) {
      let said = lastError;
      try {
        said = await failure();
      } catch {
        // the failure message itself needs the edge; keep the last error
      }
      throw new RolloutFailed(
        lastError && said !== lastError ? `${said} (last error: ${lastError})` : said,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
