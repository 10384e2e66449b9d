// Live status of a submission from /events. EventSource cannot send an
// Authorization header, so the stream is read with fetch and parsed here:
// frames end with a blank line; `event:` names one, `data:` lines carry it.

import { events } from './api.js';
import { Failure } from './i18n.js';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

// Statuses after which the service sends nothing more.
function isFinal(submission) {
  return ['COMPLETED', 'FAILED', 'EXPIRED'].includes(submission.status);
}

function parseFrame(frame) {
  let event = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    const colon = line.indexOf(':');
    if (colon === 0) continue; // a comment: the keep-alive
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    if (field === 'data') data.push(value);
  }
  return data.length ? { event, data: data.join('\n') } : null;
}

async function* frames(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      const parts = buffer.split('\n\n');
      buffer = parts.pop();
      for (const part of parts) {
        const frame = parseFrame(part);
        if (frame) yield frame;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// Doubling, capped, with jitter so that many pages do not return at once;
// never sooner than the service asked.
function retryDelay(failures, retryAfter) {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1));
  const jittered = base / 2 + Math.random() * (base / 2);
  return Math.max(jittered, (retryAfter ?? 0) * 1000);
}

// A dropped connection, a restarting service or a full stream quota pass;
// a refused sign-in or an unknown attempt do not.
function worthRetrying(failure) {
  return failure.code === 'NETWORK' || failure.status === 429 || failure.status >= 500;
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// Follows submission `id` until it is final and returns it. `onChange`
// gets every version; `onTrouble(failure, ms)` a lost connection (failure
// null when the stream just ended) and the wait before the next try;
// `onBack` the first event after trouble. Resolves to null on `signal`.
export async function follow(id, { onChange, onTrouble, onBack, signal }) {
  let failures = 0;
  const seen = (submission) => {
    if (failures > 0) onBack();
    failures = 0;
    onChange(submission);
  };
  while (!signal.aborted) {
    let trouble = null;
    try {
      const final = await stream(id, signal, seen);
      if (final) return final;
    } catch (err) {
      if (signal.aborted) return null;
      // A read cut short by a dropped connection is a TypeError, not a Failure.
      trouble = err instanceof Failure ? err : new Failure('error.NETWORK', { code: 'NETWORK' });
      if (!worthRetrying(trouble)) throw trouble;
    }
    failures += 1;
    const wait = retryDelay(failures, trouble?.retryAfter);
    onTrouble(trouble, wait);
    await pause(wait, signal);
  }
  return null;
}

// One connection's events: the final submission, or null if it ended first.
async function stream(id, signal, seen) {
  const response = await events(id, signal);
  for await (const frame of frames(response.body)) {
    if (frame.event !== 'submission') continue;
    const submission = JSON.parse(frame.data);
    seen(submission);
    if (isFinal(submission)) return submission;
  }
  return null;
}
