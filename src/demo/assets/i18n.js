// Every sentence the page shows, in English and Bahasa Indonesia, in one
// table: a translator edits this file only. `{name}` marks a value.

const STRINGS = {
  en: {
    'app.title': 'KTP verification',
    'language.label': 'Language',

    'signIn.heading': 'Sign in',
    'signIn.userId': 'User ID',
    'signIn.hint': 'Demo sign-in: any ID works, no password. End it with -invalid, -error or -nocallback to see the other outcomes.',
    'signIn.submit': 'Sign in',
    'signIn.invalid': 'A user ID is 1 to 128 letters, digits or symbols, with no space at either end.',
    'signIn.expired': 'Your sign-in has expired. Please sign in again.',
    'signIn.unreachable': 'The sign-in service cannot be reached. Check your connection and try again.',
    'session.signedInAs': 'Signed in as {user}',
    'session.signOut': 'Sign out',

    'start.heading': 'Verify your identity',
    'start.text': 'Take a photo of your KTP, your Indonesian identity card. It takes about a minute.',
    'start.button': 'Start verification',
    'start.busy': 'Starting your verification…',

    'capture.heading': 'Photograph your KTP',
    'capture.document': 'Photo {n} of {total}: {name}',
    'capture.hint': 'Place the whole card inside the frame, in good light and without glare.',
    'capture.video': 'Camera view',
    'capture.take': 'Take photo',
    'capture.choose': 'Choose a photo instead',
    'capture.fileLabel': 'Photo of your KTP',
    'capture.expiry': 'Send your photo before {time}.',
    'camera.starting': 'Starting the camera…',
    'camera.ready': 'The camera is on. Hold your KTP inside the frame.',
    'camera.denied': 'This page may not use the camera. Allow it in your browser settings, or choose a photo instead.',
    'camera.none': 'No camera was found. Choose a photo instead.',
    'camera.insecure': 'The camera works only on a secure (https) page. Choose a photo instead.',
    'camera.failed': 'The camera could not be started. Choose a photo instead.',
    'photo.unreadable': 'This file is not a photo we can read. Choose a JPEG or PNG image.',

    'review.heading': 'Check your photo',
    'review.text': 'Is the whole card in the photo, sharp and easy to read?',
    'review.alt': 'Your photo of your KTP',
    'review.send': 'Send photo',
    'review.retake': 'Take another photo',

    'progress.heading': 'Checking your KTP',
    'progress.uploading': 'Uploading your photo',
    'progress.uploaded': 'Photo uploaded.',
    'progress.confirming': 'Sending your photo for verification…',
    'progress.timeline': 'What has happened so far',
    'progress.reconnecting': 'The connection to the service was lost. Trying again in {seconds} s…',
    'progress.reconnected': 'Connected again.',

    'status.AWAITING_UPLOAD': 'Waiting for your photo',
    'status.PROCESSING': 'Checking your KTP',
    'status.VALID': 'Verified',
    'status.INVALID': 'Not accepted',
    'status.COMPLETED': 'Checked',
    'status.FAILED': 'Could not be checked',
    'status.EXPIRED': 'Expired',

    'outcome.valid.heading': 'Your KTP is verified',
    'outcome.valid.text': 'These are the details read from your card.',
    'outcome.valid.noDetails': 'Your KTP is verified, but no details from the card were returned.',
    'outcome.invalid.heading': 'Your KTP was not accepted',
    'outcome.invalid.hint': 'Check that it is your own e-KTP, that the whole card is in the photo and that nothing covers it. Then try again.',
    'outcome.failed.heading': 'We could not finish checking your KTP',
    'outcome.failed.text': 'The problem was on the verification side, not with your photo. Please try again in a few minutes.',
    'outcome.expired.heading': 'This attempt has expired',
    'outcome.expired.text': 'The upload link lapsed before your photo was sent. Start a new attempt: it only takes a minute.',
    'outcome.tryAgain': 'Try again',
    'outcome.newAttempt': 'Start a new attempt',

    'reason.NOT_EKTP': 'The card in the photo is not an electronic KTP (e-KTP).',
    'reason.INVALID_DOCUMENT': 'The photo does not show a valid identity card.',
    'reason.DOCUMENT_NOT_FOUND': 'No identity card could be found in the photo.',
    'reason.REFERENCE_IMAGE_VALIDATION_FAILED': 'The card in the photo could not be validated.',
    'reason.FRAUD_REJECT': 'The card could not be accepted. If you think this is a mistake, contact our support.',
    'reason.DUKCAPIL_REJECTED': 'The details on the card do not match the population registry (Dukcapil).',
    'reason.DUKCAPIL_SYSTEM_ERROR': 'The population registry (Dukcapil) could not check the card just now.',
    'reason.VERIFICATION_FAILED': 'The verification service had a technical problem.',
    'reason.SYSTEM_ERROR': 'The verification service had a technical problem.',
    'reason.other': 'The card was not accepted (reason: {code}).',

    'ktp.heading': 'Details from your KTP',
    'ktp.nik': 'NIK',
    'ktp.name': 'Name',
    'ktp.region': 'Place of birth',
    'ktp.dateOfBirth': 'Date of birth',
    'ktp.gender': 'Sex',
    'ktp.bloodType': 'Blood type',
    'ktp.address': 'Address',
    'ktp.rt': 'RT',
    'ktp.rw': 'RW',
    'ktp.town': 'Village',
    'ktp.district': 'District',
    'ktp.city': 'City or regency',
    'ktp.province': 'Province',
    'ktp.religion': 'Religion',
    'ktp.maritalStatus': 'Marital status',
    'ktp.occupation': 'Occupation',
    'ktp.citizenship': 'Citizenship',
    'ktp.validUntil': 'Valid until',
    'ktp.issuanceDate': 'Issued on',
    'nik.show': 'Show NIK',
    'nik.hide': 'Hide NIK',
    'nik.hidden': 'NIK hidden, ending in {last}',

    'attempts.heading': 'Your attempts',
    'attempts.none': 'No attempts yet.',
    'attempts.unavailable': 'Your attempts cannot be shown right now.',

    'action.retry': 'Try again',
    'action.signIn': 'Sign in again',
    'reference': 'Reference for support: {id}',

    'error.NETWORK': 'We cannot reach the service. Check your internet connection and try again.',
    'error.UNAUTHORIZED': 'Your sign-in has expired. Please sign in again.',
    'error.SUBMISSION_NOT_FOUND': 'We cannot find this verification attempt. Please start a new one.',
    'error.SUBMISSION_EXPIRED': 'The upload link lapsed before your photo was confirmed. Please start a new attempt.',
    'error.UPLOAD_MISSING': 'Your photo has not arrived. Please send it again.',
    'error.RESULT_NOT_READY': 'The result is not ready yet. Please try again in a moment.',
    'error.RESULT_PURGED': 'The details of this attempt were deleted, as our data retention rules require.',
    'error.RESULT_ERASED': 'The details of this attempt were erased, as you asked us to.',
    'error.IDEMPOTENCY_KEY_IN_USE': 'Your last request is still being handled. Please try again in a moment.',
    'error.SUBMISSION_QUOTA_EXCEEDED': 'You have reached the most verification attempts allowed for now. Please try again later.',
    'error.RATE_LIMITED': 'That was too many tries in a short time. Please wait {seconds} seconds, then try again.',
    'error.TOO_MANY_STREAMS': 'This verification is open in too many tabs or windows. Close the others; we will keep trying.',
    'error.STREAMS_EXHAUSTED': 'The service is very busy right now. We will keep trying to show your status.',
    'error.GTF_UNAVAILABLE': 'The verification provider is unavailable for a moment. Please try again in {seconds} seconds.',
    'error.GTF_TIMEOUT': 'The verification provider is taking too long to answer. Please try again.',
    'error.GTF_ERROR': 'The verification provider could not handle the request. Please try again later.',
    'error.DATABASE_UNAVAILABLE': 'Our service has a temporary problem. Please try again in {seconds} seconds.',
    'error.REQUEST_TIMEOUT': 'The service took too long to answer. Please try again.',
    'error.INTERNAL': 'Something went wrong on our side. Please try again later.',
    'error.APP': 'This app sent a request the service could not accept. Reload the page and try again; if it happens again, contact our support.',
    'error.UNKNOWN': 'Something went wrong ({code}). Please try again; if it happens again, contact our support.',
    'upload.network': 'Your photo could not be sent. Check your internet connection and try again.',
    'upload.refused': 'The photo storage refused your photo. Please try again.',
    'upload.tooLarge': 'Your photo is too large to send. Take a new one, or choose a smaller file.',
    'upload.notImage': 'The photo storage accepts only JPEG or PNG photos.',
  },
  id: {
    'app.title': 'Verifikasi KTP',
    'language.label': 'Bahasa',

    'signIn.heading': 'Masuk',
    'signIn.userId': 'ID pengguna',
    'signIn.hint': 'Masuk versi demo: ID apa pun bisa, tanpa kata sandi. Akhiri dengan -invalid, -error, atau -nocallback untuk melihat hasil lainnya.',
    'signIn.submit': 'Masuk',
    'signIn.invalid': 'ID pengguna terdiri dari 1 sampai 128 huruf, angka, atau simbol, tanpa spasi di awal atau akhir.',
    'signIn.expired': 'Sesi masuk Anda sudah berakhir. Silakan masuk lagi.',
    'signIn.unreachable': 'Layanan masuk tidak dapat dihubungi. Periksa koneksi Anda, lalu coba lagi.',
    'session.signedInAs': 'Masuk sebagai {user}',
    'session.signOut': 'Keluar',

    'start.heading': 'Verifikasi identitas Anda',
    'start.text': 'Foto KTP Anda, kartu tanda penduduk Indonesia. Hanya perlu sekitar satu menit.',
    'start.button': 'Mulai verifikasi',
    'start.busy': 'Memulai verifikasi Anda…',

    'capture.heading': 'Foto KTP Anda',
    'capture.document': 'Foto {n} dari {total}: {name}',
    'capture.hint': 'Letakkan seluruh kartu di dalam bingkai, dengan cahaya yang cukup dan tanpa pantulan.',
    'capture.video': 'Tampilan kamera',
    'capture.take': 'Ambil foto',
    'capture.choose': 'Pilih foto saja',
    'capture.fileLabel': 'Foto KTP Anda',
    'capture.expiry': 'Kirim foto Anda sebelum pukul {time}.',
    'camera.starting': 'Menyalakan kamera…',
    'camera.ready': 'Kamera sudah menyala. Pegang KTP Anda di dalam bingkai.',
    'camera.denied': 'Halaman ini tidak diizinkan memakai kamera. Izinkan di pengaturan browser, atau pilih foto saja.',
    'camera.none': 'Kamera tidak ditemukan. Silakan pilih foto saja.',
    'camera.insecure': 'Kamera hanya bisa dipakai di halaman aman (https). Silakan pilih foto saja.',
    'camera.failed': 'Kamera tidak dapat dinyalakan. Silakan pilih foto saja.',
    'photo.unreadable': 'File ini bukan foto yang dapat kami baca. Pilih gambar JPEG atau PNG.',

    'review.heading': 'Periksa foto Anda',
    'review.text': 'Apakah seluruh kartu terlihat di foto, tajam, dan mudah dibaca?',
    'review.alt': 'Foto KTP Anda',
    'review.send': 'Kirim foto',
    'review.retake': 'Ambil foto lain',

    'progress.heading': 'Memeriksa KTP Anda',
    'progress.uploading': 'Mengunggah foto Anda',
    'progress.uploaded': 'Foto sudah terunggah.',
    'progress.confirming': 'Mengirim foto Anda untuk diverifikasi…',
    'progress.timeline': 'Yang sudah terjadi',
    'progress.reconnecting': 'Koneksi ke layanan terputus. Mencoba lagi dalam {seconds} detik…',
    'progress.reconnected': 'Tersambung kembali.',

    'status.AWAITING_UPLOAD': 'Menunggu foto Anda',
    'status.PROCESSING': 'KTP Anda sedang diperiksa',
    'status.VALID': 'Terverifikasi',
    'status.INVALID': 'Tidak diterima',
    'status.COMPLETED': 'Sudah diperiksa',
    'status.FAILED': 'Tidak dapat diperiksa',
    'status.EXPIRED': 'Kedaluwarsa',

    'outcome.valid.heading': 'KTP Anda terverifikasi',
    'outcome.valid.text': 'Berikut data yang terbaca dari kartu Anda.',
    'outcome.valid.noDetails': 'KTP Anda terverifikasi, tetapi data dari kartu tidak dikirimkan.',
    'outcome.invalid.heading': 'KTP Anda tidak diterima',
    'outcome.invalid.hint': 'Pastikan itu e-KTP milik Anda sendiri, seluruh kartu terlihat di foto, dan tidak ada yang menutupinya. Lalu coba lagi.',
    'outcome.failed.heading': 'Pemeriksaan KTP Anda tidak dapat diselesaikan',
    'outcome.failed.text': 'Masalahnya ada di sisi verifikasi, bukan pada foto Anda. Silakan coba lagi dalam beberapa menit.',
    'outcome.expired.heading': 'Percobaan ini sudah kedaluwarsa',
    'outcome.expired.text': 'Tautan unggah kedaluwarsa sebelum foto Anda terkirim. Mulai percobaan baru: hanya perlu satu menit.',
    'outcome.tryAgain': 'Coba lagi',
    'outcome.newAttempt': 'Mulai percobaan baru',

    'reason.NOT_EKTP': 'Kartu di foto bukan KTP elektronik (e-KTP).',
    'reason.INVALID_DOCUMENT': 'Foto tidak menunjukkan kartu identitas yang sah.',
    'reason.DOCUMENT_NOT_FOUND': 'Tidak ada kartu identitas yang terlihat di foto.',
    'reason.REFERENCE_IMAGE_VALIDATION_FAILED': 'Kartu di foto tidak dapat divalidasi.',
    'reason.FRAUD_REJECT': 'Kartu tidak dapat diterima. Jika menurut Anda ini keliru, hubungi layanan bantuan kami.',
    'reason.DUKCAPIL_REJECTED': 'Data pada kartu tidak cocok dengan data kependudukan (Dukcapil).',
    'reason.DUKCAPIL_SYSTEM_ERROR': 'Data kependudukan (Dukcapil) tidak dapat memeriksa kartu saat ini.',
    'reason.VERIFICATION_FAILED': 'Layanan verifikasi mengalami masalah teknis.',
    'reason.SYSTEM_ERROR': 'Layanan verifikasi mengalami masalah teknis.',
    'reason.other': 'Kartu tidak diterima (alasan: {code}).',

    'ktp.heading': 'Data dari KTP Anda',
    'ktp.nik': 'NIK',
    'ktp.name': 'Nama',
    'ktp.region': 'Tempat lahir',
    'ktp.dateOfBirth': 'Tanggal lahir',
    'ktp.gender': 'Jenis kelamin',
    'ktp.bloodType': 'Golongan darah',
    'ktp.address': 'Alamat',
    'ktp.rt': 'RT',
    'ktp.rw': 'RW',
    'ktp.town': 'Kelurahan/Desa',
    'ktp.district': 'Kecamatan',
    'ktp.city': 'Kabupaten/Kota',
    'ktp.province': 'Provinsi',
    'ktp.religion': 'Agama',
    'ktp.maritalStatus': 'Status perkawinan',
    'ktp.occupation': 'Pekerjaan',
    'ktp.citizenship': 'Kewarganegaraan',
    'ktp.validUntil': 'Berlaku hingga',
    'ktp.issuanceDate': 'Tanggal terbit',
    'nik.show': 'Tampilkan NIK',
    'nik.hide': 'Sembunyikan NIK',
    'nik.hidden': 'NIK disembunyikan, berakhiran {last}',

    'attempts.heading': 'Percobaan Anda',
    'attempts.none': 'Belum ada percobaan.',
    'attempts.unavailable': 'Percobaan Anda tidak dapat ditampilkan saat ini.',

    'action.retry': 'Coba lagi',
    'action.signIn': 'Masuk lagi',
    'reference': 'Kode referensi untuk layanan bantuan: {id}',

    'error.NETWORK': 'Layanan tidak dapat dihubungi. Periksa koneksi internet Anda, lalu coba lagi.',
    'error.UNAUTHORIZED': 'Sesi masuk Anda sudah berakhir. Silakan masuk lagi.',
    'error.SUBMISSION_NOT_FOUND': 'Percobaan verifikasi ini tidak ditemukan. Silakan mulai yang baru.',
    'error.SUBMISSION_EXPIRED': 'Tautan unggah kedaluwarsa sebelum foto Anda dikonfirmasi. Silakan mulai percobaan baru.',
    'error.UPLOAD_MISSING': 'Foto Anda belum sampai. Silakan kirim lagi.',
    'error.RESULT_NOT_READY': 'Hasilnya belum siap. Silakan coba lagi sebentar lagi.',
    'error.RESULT_PURGED': 'Data percobaan ini sudah dihapus sesuai aturan penyimpanan data kami.',
    'error.RESULT_ERASED': 'Data percobaan ini sudah dihapus sesuai permintaan Anda.',
    'error.IDEMPOTENCY_KEY_IN_USE': 'Permintaan Anda sebelumnya masih diproses. Silakan coba lagi sebentar lagi.',
    'error.SUBMISSION_QUOTA_EXCEEDED': 'Anda sudah mencapai batas percobaan verifikasi untuk saat ini. Silakan coba lagi nanti.',
    'error.RATE_LIMITED': 'Terlalu banyak percobaan dalam waktu singkat. Tunggu {seconds} detik, lalu coba lagi.',
    'error.TOO_MANY_STREAMS': 'Verifikasi ini terbuka di terlalu banyak tab atau jendela. Tutup yang lain; kami akan terus mencoba.',
    'error.STREAMS_EXHAUSTED': 'Layanan sedang sangat sibuk. Kami akan terus mencoba menampilkan status Anda.',
    'error.GTF_UNAVAILABLE': 'Penyedia verifikasi sedang tidak tersedia. Silakan coba lagi dalam {seconds} detik.',
    'error.GTF_TIMEOUT': 'Penyedia verifikasi terlalu lama menjawab. Silakan coba lagi.',
    'error.GTF_ERROR': 'Penyedia verifikasi tidak dapat memproses permintaan. Silakan coba lagi nanti.',
    'error.DATABASE_UNAVAILABLE': 'Layanan kami sedang mengalami gangguan sementara. Silakan coba lagi dalam {seconds} detik.',
    'error.REQUEST_TIMEOUT': 'Layanan terlalu lama menjawab. Silakan coba lagi.',
    'error.INTERNAL': 'Terjadi kesalahan di sisi kami. Silakan coba lagi nanti.',
    'error.APP': 'Aplikasi ini mengirim permintaan yang tidak dapat diterima layanan. Muat ulang halaman dan coba lagi; jika terjadi lagi, hubungi layanan bantuan kami.',
    'error.UNKNOWN': 'Terjadi kesalahan ({code}). Silakan coba lagi; jika terjadi lagi, hubungi layanan bantuan kami.',
    'upload.network': 'Foto Anda tidak dapat dikirim. Periksa koneksi internet Anda, lalu coba lagi.',
    'upload.refused': 'Penyimpanan foto menolak foto Anda. Silakan coba lagi.',
    'upload.tooLarge': 'Foto Anda terlalu besar untuk dikirim. Ambil foto baru, atau pilih file yang lebih kecil.',
    'upload.notImage': 'Penyimpanan foto hanya menerima foto JPEG atau PNG.',
  },
};

const LOCALES = { en: 'en-GB', id: 'id-ID' };
let current = 'en';

// A failure the page can put in words: a key of the table, its values, and
// what a retry needs to know.
export class Failure extends Error {
  constructor(key, { vars = {}, code = null, status = 0, requestId = null, retryAfter = null } = {}) {
    super(key);
    Object.assign(this, { key, vars, code, status, requestId, retryAfter });
  }
}

export function has(key) {
  return key in STRINGS.en;
}

export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

export function language() {
  return current;
}

// Switches the language and rewrites every marked element; the caller
// re-renders what it wrote itself.
export function setLanguage(lang) {
  current = lang in STRINGS ? lang : 'en';
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-alt]')) el.alt = t(el.dataset.i18nAlt);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}

// The language to start in: the last one chosen, else the browser's.
export function preferredLanguage() {
  const saved = localStorage.getItem('language');
  if (saved in STRINGS) return saved;
  return navigator.language.toLowerCase().startsWith('id') ? 'id' : 'en';
}

export function formatTime(iso, withDate = false) {
  const options = withDate ? { dateStyle: 'medium', timeStyle: 'short' } : { timeStyle: 'short' };
  return new Intl.DateTimeFormat(LOCALES[current], options).format(new Date(iso));
}
