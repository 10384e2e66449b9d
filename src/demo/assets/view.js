// What the person sees: one screen at a time, a status line, problems with
// their way out, the live timeline, the outcome and the earlier attempts.
// Every region remembers what it was drawn from, so that a change of
// language redraws it in the new one.

import { t, has, formatTime } from './i18n.js';

const $ = (id) => document.getElementById(id);
const SCREENS = ['sign-in', 'start', 'capture', 'review', 'progress', 'outcome'];

// The order GTF's KTP data is read in on the card; fields not listed here
// follow under their own names.
const KTP_FIELDS = [
  'nik', 'name', 'region', 'dateOfBirth', 'gender', 'bloodType', 'address', 'rt', 'rw', 'town',
  'district', 'city', 'province', 'religion', 'maritalStatus', 'occupation', 'citizenship',
  'validUntil', 'issuanceDate',
];

const drawn = new Map();

function draw(region, render, ...args) {
  drawn.set(region, () => render(...args));
  render(...args);
}

export function redraw() {
  for (const render of drawn.values()) render();
}

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

// One screen at a time. Its heading takes the focus, so that a screen
// reader announces the change and the keyboard goes on from there.
export function show(screen, { focus = true } = {}) {
  for (const name of SCREENS) $(`screen-${name}`).hidden = name !== screen;
  if (focus) $(`screen-${screen}`).querySelector('h1').focus();
}

export function say(key, vars = {}) {
  draw('status', () => {
    $('status').textContent = key ? t(key, vars) : '';
  });
}

// A problem in words, with the one action that gets past it, which takes
// the focus so that a keyboard user is already on it.
export function problem(failure, action) {
  draw('problem', renderProblem, failure, action);
  $('problem-action')?.focus();
}

function renderProblem(failure, action) {
  const parts = [el('p', { textContent: t(failure.key, failure.vars) })];
  if (failure.requestId) {
    parts.push(el('p', { className: 'small', textContent: t('reference', { id: failure.requestId }) }));
  }
  if (action) {
    parts.push(el('button', { type: 'button', id: 'problem-action', textContent: t(action.label), onclick: action.run }));
  }
  $('problem').replaceChildren(...parts);
}

export function clearProblem() {
  drawn.delete('problem');
  $('problem').replaceChildren();
}

export function session(userId) {
  draw('session', () => {
    $('session').hidden = !userId;
    $('attempts').hidden = !userId;
    $('signed-in-as').textContent = userId ? t('session.signedInAs', { user: userId }) : '';
  });
}

export function fieldError(key) {
  draw('field', () => {
    $('user-id-error').textContent = key ? t(key) : '';
    $('user-id').toggleAttribute('aria-invalid', Boolean(key));
  });
  if (key) $('user-id').focus();
}

export function capture(upload, index, total) {
  draw('capture', () => {
    $('capture-document').textContent = total > 1 ? t('capture.document', { n: index + 1, total, name: upload.document }) : '';
    $('capture-expiry').textContent = t('capture.expiry', { time: formatTime(upload.expiresAt) });
  });
}

export function cameraNote(key) {
  draw('camera', () => {
    $('camera-note').textContent = t(key);
  });
}

export function review(photoUrl) {
  $('review-photo').src = photoUrl;
}

export function progress(percent) {
  $('upload-progress').value = percent;
  $('upload-percent').textContent = `${percent}%`;
}

function statusText(submission) {
  const key = submission.status === 'COMPLETED' ? `status.${submission.result}` : `status.${submission.status}`;
  return t(has(key) ? key : `status.${submission.status}`);
}

// Each status the live stream brought, once, with the time it was reached.
export function timeline(entries) {
  draw('timeline', () => {
    const items = entries.map((s) => el('li', { textContent: `${statusText(s)}, ${formatTime(s.updatedAt)}` }));
    $('timeline').replaceChildren(...items);
  });
}

function reasonText(code) {
  if (!code) return '';
  return has(`reason.${code}`) ? t(`reason.${code}`) : t('reason.other', { code });
}

// kind: valid | invalid | failed | expired.
export function outcome(kind, { reasonCode = null, ktp = null, action = null } = {}) {
  let revealed = false;
  const reveal = () => {
    revealed = !revealed;
    drawn.get('outcome')();
    $('nik-toggle').focus();
  };
  draw('outcome', () => {
    $('outcome-heading').textContent = t(`outcome.${kind}.heading`);
    $('outcome-text').textContent = outcomeText(kind, reasonCode, ktp);
    $('outcome-hint').textContent = kind === 'invalid' ? t('outcome.invalid.hint') : '';
    $('ktp').hidden = !ktp;
    $('ktp-fields').replaceChildren(...(ktp ? ktpRows(ktp, revealed, reveal) : []));
    const button = $('outcome-action');
    button.hidden = !action;
    if (action) Object.assign(button, { textContent: t(action.label), onclick: action.run });
  });
}

function outcomeText(kind, reasonCode, ktp) {
  if (kind === 'valid') return t(ktp ? 'outcome.valid.text' : 'outcome.valid.noDetails');
  if (kind === 'invalid') return reasonText(reasonCode);
  return t(`outcome.${kind}.text`);
}

function ktpRows(ktp, revealed, reveal) {
  const known = KTP_FIELDS.filter((name) => name in ktp);
  const others = Object.keys(ktp).filter((name) => !KTP_FIELDS.includes(name));
  return [...known, ...others]
    .filter((name) => ['string', 'number'].includes(typeof ktp[name]))
    .flatMap((name) => [
      el('dt', { textContent: has(`ktp.${name}`) ? t(`ktp.${name}`) : name }),
      name === 'nik' ? nikCell(String(ktp.nik), revealed, reveal) : el('dd', { textContent: String(ktp[name]) }),
    ]);
}

// The NIK identifies the person, so it stays masked (but for its last four
// digits) until they ask to see it.
function nikCell(nik, revealed, reveal) {
  const last = nik.slice(-4);
  const value = revealed
    ? el('span', { id: 'nik-value', textContent: nik })
    : el('span', { id: 'nik-value' },
      el('span', { textContent: '•'.repeat(Math.max(0, nik.length - 4)) + last, ariaHidden: 'true' }),
      el('span', { className: 'visually-hidden', textContent: t('nik.hidden', { last }) }));
  const toggle = el('button', {
    type: 'button', id: 'nik-toggle', className: 'link', textContent: t(revealed ? 'nik.hide' : 'nik.show'), onclick: reveal,
  });
  toggle.setAttribute('aria-pressed', String(revealed));
  toggle.setAttribute('aria-controls', 'nik-value');
  return el('dd', { className: 'nik' }, value, ' ', toggle);
}

export function attempts(items, noteKey) {
  draw('attempts', () => {
    $('attempts-note').textContent = noteKey ? t(noteKey) : '';
    const rows = items.map((s) => el('li', {},
      el('time', { dateTime: s.createdAt, textContent: formatTime(s.createdAt, true) }),
      ` ${statusText(s)}`));
    $('attempts-list').replaceChildren(...rows);
  });
}
