//! The client side of the GTF boundary.
