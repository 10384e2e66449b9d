// The photo of the card, from the camera or a file, always sent as a JPEG
// at most 1600 px wide: sharp enough for GTF to read a KTP, small enough to
// upload quickly over a phone connection.

import { Failure } from './i18n.js';

const MAX_WIDTH = 1600;
const QUALITY = 0.85;

// The rear camera on phones, any camera elsewhere, shown in `video` unless
// `wanted()` says the person has moved on while it started (then it is
// turned off again, and false returned).
export async function openCamera(video, wanted) {
  if (!navigator.mediaDevices?.getUserMedia) throw new Failure('camera.insecure');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 }, height: { ideal: 1080 } },
    });
  } catch (err) {
    throw new Failure(cameraProblem(err.name));
  }
  if (!wanted()) {
    stop(stream);
    return false;
  }
  closeCamera(video);
  video.srcObject = stream;
  try {
    await video.play();
  } catch {
    throw new Failure('camera.failed');
  }
  return true;
}

function cameraProblem(name) {
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'camera.denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'camera.none';
  return 'camera.failed';
}

function stop(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

// Turns the camera (and its light) off as soon as it is not needed.
export function closeCamera(video) {
  stop(video.srcObject);
  video.srcObject = null;
}

// The whole frame, not just the guide: GTF finds the card itself, and a
// card held a little outside the guide is not cut off.
export function captureFrame(video) {
  return toJpeg(video, video.videoWidth, video.videoHeight);
}

export async function fromFile(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new Failure('photo.unreadable');
  }
  try {
    return await toJpeg(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

function toJpeg(source, width, height) {
  const scale = Math.min(1, MAX_WIDTH / width);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  canvas.getContext('2d').drawImage(source, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Failure('photo.unreadable'))), 'image/jpeg', QUALITY);
  });
}
