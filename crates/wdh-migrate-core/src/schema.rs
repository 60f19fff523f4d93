//! Catalog-based schema capture and comparison.
