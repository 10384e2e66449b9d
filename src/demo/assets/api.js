// gtf-bff's partner API as the page uses it. Every failure becomes a
// Failure naming a sentence of the string table, never raw JSON.

import { Failure, has } from './i18n.js';

// Codes that mean this page sent something the service refused: the person
// can only reload, so they share one sentence.
const APP_FAULTS = new Set([
  'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'MALFORMED_JSON', 'INVALID_BODY', 'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE', 'INVALID_PARAMETER', 'INVALID_HEADER', 'UNSUPPORTED_SUBMISSION_TYPE',
  'IDEMPOTENCY_KEY_REUSED', 'FORBIDDEN', 'INVALID_CALLBACK', 'CALLBACK_NOT_STORED',
  // The operator API's own; a page never calls it.
  'DELIVERY_IN_FLIGHT',
]);

// Used when a 503 comes without Retry-After: the service's own default.
const DEFAULT_WAIT_SECS = 5;

const session = { apiUrl: '', token: null };

export function configure(apiUrl) {
  session.apiUrl = apiUrl;
}

export function setToken(token) {
  session.token = token;
}

export function messageKey(code) {
  if (APP_FAULTS.has(code)) return 'error.APP';
  return has(`error.${code}`) ? `error.${code}` : 'error.UNKNOWN';
}

// A problem+json answer as a Failure; any other answer by its status.
async function failureOf(response) {
  const problem = await response.json().catch(() => ({}));
  const code = typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`;
  const retryAfter = Number.parseInt(response.headers.get('retry-after'), 10) || null;
  return new Failure(messageKey(code), {
    vars: { code, seconds: retryAfter ?? DEFAULT_WAIT_SECS },
    code,
    status: response.status,
    requestId: problem.requestId || response.headers.get('x-request-id'),
    retryAfter,
  });
}

async function send(path, { method = 'GET', headers = {}, signal } = {}) {
  const auth = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  let response;
  try {
    response = await fetch(session.apiUrl + path, { method, headers: { ...auth, ...headers }, signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new Failure('error.NETWORK', { code: 'NETWORK' });
  }
  if (!response.ok) throw await failureOf(response);
  return response;
}

const json = (response) => response.json();
const submission = (id) => `/v1/kyc/submissions/${encodeURIComponent(id)}`;

// The key makes a retried start (after a lost answer) return the same
// attempt instead of creating a second one.
export function create(idempotencyKey) {
  return send('/v1/kyc/submissions', { method: 'POST', headers: { 'Idempotency-Key': idempotencyKey } }).then(json);
}

export function confirm(id) {
  return send(`${submission(id)}/confirm`, { method: 'POST' }).then(json);
}

export function result(id) {
  return send(`${submission(id)}/result`).then(json);
}

export function list() {
  return send('/v1/kyc/submissions?limit=10').then(json);
}

export function events(id, signal) {
  return send(`${submission(id)}/events`, { headers: { Accept: 'text/event-stream' }, signal });
}

// The demo server's own sign-in, on the page's origin; a partner's app has
// its real sign-in here instead.
export async function signIn(userId) {
  let response;
  try {
    response = await fetch('sign-in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
  } catch {
    throw new Failure('signIn.unreachable', { code: 'NETWORK' });
  }
  if (response.status === 422) throw new Failure('signIn.invalid', { code: 'INVALID_USER_ID' });
  if (!response.ok) throw new Failure('error.UNKNOWN', { vars: { code: `HTTP_${response.status}` } });
  return response.json();
}

export async function settings() {
  const response = await fetch('config.json');
  return response.json();
}
