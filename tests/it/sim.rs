//! The simulator, spoken to over HTTP as GTF's clients would.
