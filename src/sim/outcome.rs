//! How a submission ends, chosen by the partner user id like a test card
//! number, and the fake KTP record of a valid one.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The final state of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Valid,
    Invalid,
    Error,
}

impl Verdict {
    pub(crate) fn status(self) -> &'static str {
        match self {
            Self::Valid | Self::Invalid => "COMPLETED",
            Self::Error => "ERROR",
        }
    }

    pub(crate) fn result(self) -> Option<&'static str> {
        match self {
            Self::Valid => Some("VALID"),
            Self::Invalid => Some("INVALID"),
            Self::Error => None,
        }
    }

    /// As the callback and the GoPay-ID rules put it: none when valid.
    pub(crate) fn reason_code(self) -> Option<&'static str> {
        match self {
            Self::Valid => None,
            Self::Invalid => Some("NOT_EKTP"),
            Self::Error => Some("VERIFICATION_FAILED"),
        }
    }
}

/// What happens to every submission of one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scenario {
    pub(crate) verdict: Verdict,
    pub(crate) callback: bool,
}

impl Scenario {
    pub(crate) fn for_user(partner_user_id: &str) -> Self {
        let (verdict, callback) = if partner_user_id.ends_with("-invalid") {
            (Verdict::Invalid, true)
        } else if partner_user_id.ends_with("-error") {
            (Verdict::Error, true)
        } else if partner_user_id.ends_with("-nocallback") {
            (Verdict::Valid, false)
        } else {
            (Verdict::Valid, true)
        };
        Self { verdict, callback }
    }
}

/// (name, gender)
const PEOPLE: [(&str, &str); 6] = [
    ("BUDI SANTOSO", "male"),
    ("SITI RAHAYU", "female"),
    ("AGUS PRASETYO", "male"),
    ("DEWI LESTARI", "female"),
    ("RUDI HARTONO", "male"),
    ("RINA KARTIKA", "female"),
];

/// (NIK region prefix, province, city, place of birth, district, town)
const PLACES: [(&str, &str, &str, &str, &str, &str); 4] = [
    (
        "357805",
        "JAWA TIMUR",
        "KOTA SURABAYA",
        "SURABAYA",
        "BUBUTAN",
        "ALUN-ALUN CONTONG",
    ),
    (
        "317406",
        "DKI JAKARTA",
        "KOTA JAKARTA SELATAN",
        "JAKARTA",
        "KEBAYORAN BARU",
        "SENAYAN",
    ),
    (
        "327310",
        "JAWA BARAT",
        "KOTA BANDUNG",
        "BANDUNG",
        "COBLONG",
        "DAGO",
    ),
    (
        "337406",
        "JAWA TENGAH",
        "KOTA SEMARANG",
        "SEMARANG",
        "SEMARANG SELATAN",
        "LAMPER KIDUL",
    ),
];

const STREETS: [&str; 4] = ["JL. MERDEKA", "JL. SUDIRMAN", "JL. DIPONEGORO", "JL. MAWAR"];
const RELIGIONS: [&str; 4] = ["ISLAM", "KRISTEN", "KATOLIK", "HINDU"];
const OCCUPATIONS: [&str; 4] = [
    "KARYAWAN SWASTA",
    "PELAJAR/MAHASISWA",
    "WIRASWASTA",
    "PEGAWAI NEGERI SIPIL",
];
const BLOOD_TYPES: [&str; 5] = ["-", "A", "B", "AB", "O"];
const MARITAL: [&str; 2] = ["BELUM KAWIN", "KAWIN"];

fn pick<T: Copy>(items: &[T], byte: u8) -> T {
    items[usize::from(byte) % items.len()]
}

/// A plausible eKTP record, the same for every submission of one user.
/// Assumed shape: the Esign `ktpData` of GTF's details documentation, since no CoE
/// source shows a KTP_SCAN result.
pub(crate) fn fake_ktp(partner_user_id: &str) -> Value {
    let h = Sha256::digest(partner_user_id.as_bytes());
    let (name, gender) = pick(&PEOPLE, h[0]);
    let (prefix, province, city, region, district, town) = pick(&PLACES, h[1]);
    let day = 1 + u32::from(h[2]) % 28;
    let month = 1 + u32::from(h[3]) % 12;
    let year = 1960 + u32::from(h[4]) % 40;
    let serial = 1 + u32::from(u16::from_be_bytes([h[5], h[6]])) % 9999;
    // A NIK encodes the birth date, with 40 added to the day for women.
    let nik_day = if gender == "female" { day + 40 } else { day };
    let nik = format!("{prefix}{nik_day:02}{month:02}{:02}{serial:04}", year % 100);
    json!({
        "nik": nik,
        "name": name,
        "region": region,
        "dateOfBirth": format!("{day:02}-{month:02}-{year}"),
        "bloodType": pick(&BLOOD_TYPES, h[7]),
        "religion": pick(&RELIGIONS, h[8]),
        "province": province,
        "city": city,
        "address": format!("{} NO. {}", pick(&STREETS, h[9]), 1 + h[10] % 99),
        "district": district,
        "town": town,
        "gender": gender,
        "rt": format!("{:03}", 1 + h[11] % 20),
        "rw": format!("{:03}", 1 + h[12] % 15),
        "occupation": pick(&OCCUPATIONS, h[13]),
        "validUntil": "SEUMUR HIDUP",
        "citizenship": "WNI",
        "maritalStatus": pick(&MARITAL, h[14]),
        "issuanceDate": format!(
            "{:02}-{:02}-{}",
            1 + h[15] % 28,
            1 + h[16] % 12,
            2012 + u32::from(h[17]) % 12
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suffix_picks_the_outcome() {
        let cases = [
            ("u1", Verdict::Valid, true),
            ("u1-invalid", Verdict::Invalid, true),
            ("u1-error", Verdict::Error, true),
            ("u1-nocallback", Verdict::Valid, false),
            ("invalid-u1", Verdict::Valid, true),
        ];
        for (user, verdict, callback) in cases {
            assert_eq!(
                Scenario::for_user(user),
                Scenario { verdict, callback },
                "{user}"
            );
        }
    }

    #[test]
    fn the_fake_record_is_deterministic_and_well_formed() {
        let ktp = fake_ktp("user-42");
        assert_eq!(ktp, fake_ktp("user-42"));
        let nik = ktp["nik"].as_str().unwrap();
        assert_eq!(nik.len(), 16);
        assert!(nik.bytes().all(|b| b.is_ascii_digit()));
        let fields = ktp.as_object().unwrap();
        assert_eq!(fields.len(), 19);
        assert!(fields.values().all(Value::is_string));
    }
}
