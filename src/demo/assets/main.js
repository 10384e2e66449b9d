// The KTP Scan flow: sign in, start an attempt, photograph the card (or
// choose a photo), upload it to the storage URL, confirm, follow the
// status live, show the outcome.

import * as api from './api.js';
import { follow } from './events.js';
import { Failure, language, preferredLanguage, setLanguage } from './i18n.js';
import { captureFrame, closeCamera, fromFile, openCamera } from './photo.js';
import { upload } from './upload.js';
import * as view from './view.js';

const $ = (id) => document.getElementById(id);
const video = $('camera');

const state = {
  screen: null,
  submission: null, // the attempt in progress
  index: 0, // which of its uploads is being photographed
  photos: [], // one JPEG per upload, kept until confirmed
  uploaded: [], // which of them the storage has: a retry sends only the rest
  startKey: null, // the Idempotency-Key of the start being tried
  lapse: null, // fires when the upload URLs lapse
  following: null, // aborts the live status
  timeline: [],
  visits: 0, // to the capture screen: a camera that starts after its visit is turned off
};

function go(screen, options) {
  if (screen !== 'capture') closeCamera(video);
  state.screen = screen;
  view.show(screen, options);
}

// Shows a failure with the way past it: an expired sign-in leads back to
// the sign-in, lapsed upload URLs to a new attempt, anything else to a retry.
function trouble(failure, retry) {
  view.say(null);
  if (failure.code === 'UNAUTHORIZED') return signOut('signIn.expired');
  if (['SUBMISSION_EXPIRED', 'URL_EXPIRED'].includes(failure.code)) return showExpired();
  const action = failure.code === 'SUBMISSION_NOT_FOUND'
    ? { label: 'outcome.newAttempt', run: startAttempt }
    : { label: 'action.retry', run: retry };
  view.problem(failure, action);
}

async function attempt(work, retry) {
  view.clearProblem();
  try {
    await work();
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    trouble(err, retry);
  }
}

let busy = false;

// A person's action, ignored while the last one still runs (a double click).
async function act(work, retry) {
  if (busy) return;
  busy = true;
  try {
    await attempt(work, retry);
  } finally {
    busy = false;
  }
}

// Not crypto.randomUUID: that exists only on secure pages, and the demo may
// be opened over plain http on a LAN address.
function newKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function stopAll() {
  clearTimeout(state.lapse);
  state.following?.abort();
  closeCamera(video);
}

// --- signing in ---------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  view.fieldError(null);
  try {
    const session = await api.signIn($('user-id').value.trim());
    sessionStorage.setItem('session', JSON.stringify(session));
    enter(session);
  } catch (failure) {
    if (failure.code === 'INVALID_USER_ID') view.fieldError(failure.key);
    else view.problem(failure, { label: 'action.retry', run: () => $('sign-in-form').requestSubmit() });
  }
}

function enter(session, options) {
  api.setToken(session.token);
  view.session(session.userId);
  view.clearProblem();
  go('start', options);
  refreshAttempts();
}

function signOut(reasonKey) {
  stopAll();
  sessionStorage.removeItem('session');
  api.setToken(null);
  view.session(null);
  go('sign-in');
  if (reasonKey) view.problem(new Failure(reasonKey));
  else view.clearProblem();
}

// --- the attempt ----------------------------------------------------------------

function startAttempt() {
  return act(async () => {
    stopAll();
    // Kept until a start succeeds: a retry after a lost answer gets the
    // same attempt back instead of a second one.
    state.startKey ??= newKey();
    view.say('start.busy');
    const submission = await api.create(state.startKey);
    state.startKey = null;
    view.say(null);
    Object.assign(state, { submission, index: 0, photos: [], uploaded: [], timeline: [submission] });
    refreshAttempts();
    enterCapture();
  }, startAttempt);
}

const currentUpload = () => state.submission.uploads[state.index];

async function enterCapture() {
  const target = currentUpload();
  view.capture(target, state.index, state.submission.uploads.length);
  go('capture');
  clearTimeout(state.lapse);
  state.lapse = setTimeout(showExpired, Date.parse(target.expiresAt) - Date.now());
  $('take-photo').disabled = true;
  view.cameraNote('camera.starting');
  state.visits += 1;
  const visit = state.visits;
  // The person may choose a file, or go on, while the camera starts.
  const wanted = () => state.visits === visit && state.screen === 'capture';
  try {
    if (!(await openCamera(video, wanted))) return;
  } catch (failure) {
    if (wanted()) view.cameraNote(failure.key);
    return;
  }
  if (!wanted()) return closeCamera(video);
  $('take-photo').disabled = false;
  view.cameraNote('camera.ready');
}

async function usePhoto(photo) {
  state.photos[state.index] = await photo;
  state.uploaded[state.index] = false;
  URL.revokeObjectURL($('review-photo').src);
  view.review(URL.createObjectURL(state.photos[state.index]));
  go('review');
}

function takePhoto() {
  return attempt(() => usePhoto(captureFrame(video)), takePhoto);
}

function photoChosen() {
  const [file] = $('photo-file').files;
  $('photo-file').value = '';
  if (file) attempt(() => usePhoto(fromFile(file)), () => $('photo-file').click());
}

function sendPhoto() {
  return act(async () => {
    clearTimeout(state.lapse);
    go('progress');
    view.timeline(state.timeline);
    for (let i = 0; i <= state.index; i += 1) {
      if (state.uploaded[i]) continue;
      view.progress(0);
      await upload(state.submission.uploads[i], state.photos[i], view.progress);
      state.uploaded[i] = true;
      view.say('progress.uploaded');
    }
    if (state.index + 1 < state.submission.uploads.length) {
      state.index += 1;
      enterCapture();
      return;
    }
    await confirm();
  }, sendPhoto);
}

async function confirm() {
  view.say('progress.confirming');
  let submission;
  try {
    submission = await api.confirm(state.submission.id);
  } catch (failure) {
    // GTF has not got every photo: the next try sends them all again.
    if (failure.code === 'UPLOAD_MISSING') state.uploaded.fill(false);
    throw failure;
  }
  state.photos = [];
  note(submission);
  watch(submission);
}

// --- the live status and the outcome -------------------------------------------------

function note(submission) {
  const last = state.timeline.at(-1);
  if (last?.status === submission.status && last?.result === submission.result) return;
  state.timeline.push(submission);
  view.timeline(state.timeline);
  view.say(null);
}

async function watch(submission) {
  state.following?.abort();
  const control = new AbortController();
  state.following = control;
  await attempt(async () => {
    const final = await follow(submission.id, {
      onChange: note,
      onTrouble: (failure, ms) => view.say(
        ['TOO_MANY_STREAMS', 'STREAMS_EXHAUSTED'].includes(failure?.code)
          ? failure.key
          : 'progress.reconnecting',
        { seconds: Math.ceil(ms / 1000) },
      ),
      onBack: () => view.say('progress.reconnected'),
      signal: control.signal,
    });
    if (final) await conclude(final);
  }, () => watch(submission));
}

function outcomeOf(submission) {
  if (submission.status === 'COMPLETED') return submission.result === 'VALID' ? 'valid' : 'invalid';
  return submission.status === 'FAILED' ? 'failed' : 'expired';
}

async function conclude(submission) {
  const kind = outcomeOf(submission);
  const ktp = kind === 'valid' ? (await api.result(submission.id)).ktp : null;
  const action = kind === 'valid' ? null : { label: kind === 'expired' ? 'outcome.newAttempt' : 'outcome.tryAgain', run: startAttempt };
  view.say(null);
  view.outcome(kind, { reasonCode: submission.reasonCode, ktp, action });
  go('outcome');
  refreshAttempts();
}

function showExpired() {
  stopAll();
  view.outcome('expired', { action: { label: 'outcome.newAttempt', run: startAttempt } });
  go('outcome');
  refreshAttempts();
}

// Earlier attempts are a side view: trouble loading them never stops the flow.
async function refreshAttempts() {
  try {
    const page = await api.list();
    view.attempts(page.items, page.items.length ? null : 'attempts.none');
  } catch (failure) {
    if (failure.code === 'UNAUTHORIZED') signOut('signIn.expired');
    else view.attempts([], 'attempts.unavailable');
  }
}

// --- start -------------------------------------------------------------------------

function changeLanguage() {
  const lang = $('language').value;
  localStorage.setItem('language', lang);
  setLanguage(lang);
  view.redraw();
}

async function boot() {
  setLanguage(preferredLanguage());
  $('language').value = language();
  $('language').addEventListener('change', changeLanguage);
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut(null));
  $('start').addEventListener('click', startAttempt);
  $('take-photo').addEventListener('click', takePhoto);
  $('choose-photo').addEventListener('click', () => $('photo-file').click());
  $('photo-file').addEventListener('change', photoChosen);
  $('send-photo').addEventListener('click', sendPhoto);
  $('retake').addEventListener('click', enterCapture);
  const { apiUrl } = await api.settings();
  api.configure(apiUrl);
  const saved = JSON.parse(sessionStorage.getItem('session'));
  if (saved) enter(saved, { focus: false });
  else go('sign-in', { focus: false });
}

boot();
