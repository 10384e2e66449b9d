//! The JSON a submission is shown as: by Get Submission Status and by Get Submission
//! Details.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::Sim;
use super::outcome::{Verdict, fake_ktp};
use super::state::{Phase, Submission};
use super::storage::image_url;

/// `2026-04-29T10:00:00Z`: UTC, whole seconds, as in every CoE example.
fn timestamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(crate) fn status(sim: &Sim, submission: &Submission, now: OffsetDateTime) -> Value {
    let (status, final_at, verdict) = match submission.phase(now, sim.config.processing) {
        Phase::Initiated => ("INITIATED", None, None),
        Phase::InProgress => ("IN_PROGRESS", None, None),
        Phase::Final { verdict, at } => (verdict.status(), Some(at), Some(verdict)),
    };
    let documents: Map<String, Value> = submission
        .documents
        .iter()
        .map(|doc| {
            let doc_status = match verdict {
                Some(Verdict::Valid) => "VERIFIED",
                Some(Verdict::Invalid | Verdict::Error) => "INVALID",
                None if doc.uploaded => "UPLOADED",
                None => "PENDING",
            };
            let reference = doc.uploaded.then(|| submission.reference(&doc.key));
            (
                doc.key.clone(),
                json!({ "status": doc_status, "documentReference": reference }),
            )
        })
        .collect();
    let verification_result = match verdict {
        Some(Verdict::Valid) => {
            json!({ "isApproved": true, "riskLevel": "LOW", "confidence": "95" })
        }
        Some(Verdict::Invalid) => {
            json!({ "isApproved": false, "riskLevel": "HIGH", "confidence": "90" })
        }
        Some(Verdict::Error) | None => Value::Null,
    };
    json!({
        "submissionId": submission.id,
        "status": status,
        "submissionType": submission.submission_type,
        "createdAt": timestamp(submission.created_at),
        "completedAt": final_at.map(timestamp),
        "verificationResult": verification_result,
        "errorMessage": (verdict == Some(Verdict::Error)).then_some("Verification failed"),
        "documents": documents,
    })
}

pub(crate) fn details(sim: &Sim, submission: &Submission, now: OffsetDateTime) -> Value {
    let (verdict, processed_at) = match submission.phase(now, sim.config.processing) {
        // Details know no INITIATED: anything unfinished is in progress.
        Phase::Initiated | Phase::InProgress => {
            return json!({
                "status": "IN_PROGRESS",
                "submissionId": submission.id,
                "flow": submission.submission_type,
                "partnerSessionId": submission.partner_session_id,
            });
        }
        // Exactly the documented SystemError example, without even an id.
        Phase::Final {
            verdict: Verdict::Error,
            ..
        } => return json!({ "status": "ERROR", "reasonCode": "VERIFICATION_FAILED" }),
        Phase::Final { verdict, at } => (verdict, at),
    };
    let image_urls: Map<String, Value> = submission
        .documents
        .iter()
        .map(|doc| (doc.key.clone(), json!(image_url(sim, submission, &doc.key))))
        .collect();
    let mut submission_details = json!({ "imageUrls": image_urls });
    if verdict == Verdict::Valid {
        submission_details["ktpData"] = fake_ktp(&submission.owner.user_id);
    } else {
        // The localized NOT_EKTP text of the Esign on-demand example.
        submission_details["rejectionReasonTranslations"] = json!({
            "en_ID": { "title": "Verification failed", "message": "ID submitted is not eKTP" },
            "id_ID": { "title": "Verifikasi gagal", "message": "Kartu identitas bukan eKTP" },
        });
    }
    json!({
        "status": verdict.status(),
        "submissionId": submission.id,
        "flow": submission.submission_type,
        "partnerSessionId": submission.partner_session_id,
        "result": verdict.result(),
        "reasonCode": verdict.reason_code().unwrap_or(""),
        "processedAt": timestamp(processed_at),
        "submissionDetails": submission_details,
    })
}
