//! The vocabulary of gtf-bff, free of HTTP, SQL and GTF wire formats.

mod user;

pub use user::PartnerUserId;
