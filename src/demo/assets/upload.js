// The photo goes straight to the storage URL the API handed out, with the
// method and headers it named. XMLHttpRequest, not fetch: only it reports
// upload progress.

import { Failure } from './i18n.js';

// S3-style storages name the refusal in an XML <Code>.
const STORAGE_REFUSALS = { EntityTooLarge: 'upload.tooLarge', InvalidArgument: 'upload.notImage' };

export function upload(target, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(target.method || 'PUT', target.url);
    for (const [name, value] of Object.entries(target.headers ?? {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(Math.round((100 * event.loaded) / event.total));
    };
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(refusal(xhr)));
    xhr.onerror = () => reject(new Failure('upload.network', { code: 'NETWORK' }));
    xhr.send(blob);
  });
}

function refusal(xhr) {
  const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText)?.[1];
  // How S3 refuses a URL past its expiry; the page then offers a new attempt.
  if (code === 'AccessDenied' && /expired/i.test(xhr.responseText)) {
    return new Failure('upload.refused', { code: 'URL_EXPIRED', status: xhr.status });
  }
  return new Failure(STORAGE_REFUSALS[code] ?? 'upload.refused', { code: code ?? `HTTP_${xhr.status}`, status: xhr.status });
}
